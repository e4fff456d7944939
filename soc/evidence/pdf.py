"""``report.pdf``: the HTML report printed by headless Chromium (Debian's ``chromium``) when it is
on PATH. Without it the pack has no PDF and the report says why — the HTML prints the same
(A4 print CSS) from any browser."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

BROWSERS = ("chromium", "chromium-browser")
TIMEOUT_S = 180
MISSING = ("report.pdf omitted: no `chromium` on PATH (Debian: apt-get install chromium); "
           "print report.html from a browser instead (A4 print styles included)")
SWITCHED_OFF = "report.pdf omitted: evidence.pdf is off; print report.html from a browser (A4 print styles included)"


def find_browser() -> str | None:
    return next((p for p in map(shutil.which, BROWSERS) if p), None)


def print_pdf(html: str) -> tuple[bytes | None, str]:
    """(the PDF, a note for the report). Never raises: a missing or failing browser is a note."""
    browser = find_browser()
    if browser is None:
        return None, MISSING
    with tempfile.TemporaryDirectory(prefix="shuwei-pdf-") as tmp:
        page, out = Path(tmp) / "report.html", Path(tmp) / "report.pdf"
        page.write_text(html, encoding="utf-8")
        cmd = [browser, "--headless", "--disable-gpu", "--disable-dev-shm-usage",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--no-first-run", "--no-pdf-header-footer", f"--user-data-dir={tmp}/profile",
               f"--print-to-pdf={out}", page.as_uri()]
        if os.geteuid() == 0:  # Chromium refuses to start as root inside its sandbox
            cmd.insert(1, "--no-sandbox")
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT_S)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return None, f"report.pdf omitted: {browser} did not print ({exc.__class__.__name__})"
        if not out.is_file() or out.stat().st_size == 0:
            last = (proc.stderr.strip().splitlines() or ["no output"])[-1][:200]
            return None, f"report.pdf omitted: {browser} exited {proc.returncode}: {last}"
        return out.read_bytes(), f"report.pdf printed from report.html by {Path(browser).name} (headless)"
