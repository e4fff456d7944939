#!/usr/bin/env bash
# Install Debian's headless Chromium and its WebDriver (for the console's browser tests and the
# evidence report's PDF), with a CJK font so Chinese headings print. Needs root and
# Debian's package mirror; idempotent.
set -euo pipefail
if command -v chromium >/dev/null && command -v chromedriver >/dev/null && fc-list :lang=zh | grep -q .; then
    exit 0
fi
if [ "$(id -u)" != "0" ]; then
    echo "install-chromium: needs root (apt-get install chromium chromium-driver)" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends chromium chromium-driver fonts-wqy-microhei >/dev/null
command -v chromium >/dev/null && command -v chromedriver >/dev/null
