"""Debian's Chromium for the tests that need a real browser (console pages, the evidence PDF).

One definition of how a test gets the browser: found on PATH, or installed by the repo's own
``scripts/install-chromium.sh`` (CI runs as root). Outside CI a machine that cannot install it
skips those tests with the reason; under ``CI=true`` they fail instead of skipping.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

INSTALL_SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "install-chromium.sh"

# Flags from the field notes: headless as root, no network side-channels, no first-run UI.
HEADLESS_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)


class ChromiumUnavailable(RuntimeError):
    """Chromium or ChromeDriver is missing and could not be installed here."""


@dataclass(frozen=True)
class Chromium:
    browser: Path
    driver: Path


def _has_cjk_font() -> bool:
    """Chinese headings print as boxes without one; the install script adds WenQuanYi Micro Hei."""
    try:
        out = subprocess.run(["fc-list", ":lang=zh"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return bool(out.stdout.strip())


def _found() -> Chromium | None:
    browser, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if browser and driver and _has_cjk_font():
        return Chromium(Path(browser), Path(driver))
    return None


def ensure_chromium() -> Chromium:
    """The browser and driver paths, installing them from Debian's packages when missing."""
    if found := _found():
        return found
    try:
        proc = subprocess.run(
            ["bash", str(INSTALL_SCRIPT)], capture_output=True, text=True, timeout=900
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ChromiumUnavailable(f"{INSTALL_SCRIPT.name} did not run: {exc}") from exc
    if found := _found():
        return found
    reason = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
    raise ChromiumUnavailable(f"{INSTALL_SCRIPT.name} failed (exit {proc.returncode}): {reason[0]}")


def under_ci() -> bool:
    return os.environ.get("CI") == "true"
