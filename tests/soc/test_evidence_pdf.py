"""report.html in a real headless Chromium: printed to report.pdf by the product itself, and
loaded by Selenium without a console error or any request outside the page."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from classifier.settings import get_settings
from soc.cli.main import app
from tests.browser import HEADLESS_FLAGS, Chromium
from tests.soc.evidence_world import world  # noqa: F401  (the crafted state, a fixture)


def test_report_prints_to_pdf_and_loads_without_console_errors(
        world: Path, tmp_path: Path, chromium: Chromium, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", f"{chromium.browser.parent}{os.pathsep}{os.environ.get('PATH', '')}")
    get_settings.cache_clear()
    out = tmp_path / "pack.zip"
    result = CliRunner().invoke(app, ["evidence", "export", "--out", str(out), "--from", "2026-03-01",
                                      "--to", "2026-03-31"])
    assert result.exit_code == 0, result.output
    assert "report.pdf printed from report.html by headless Chromium" in result.output
    with zipfile.ZipFile(out) as zf:
        pdf, html = zf.read("report.pdf"), zf.read("report.html")
    assert pdf.startswith(b"%PDF-") and pdf.count(b"/Type /Page") >= 2
    page = tmp_path / "report.html"
    page.write_bytes(html)

    os.environ.setdefault("SE_OFFLINE", "true")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(chromium.browser)
    for flag in HEADLESS_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path / 'profile'}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(chromium.driver)), options=options)
    try:
        driver.get(page.as_uri())
        assert driver.title.startswith("测评证据报告")
        assert driver.execute_script("return document.querySelectorAll('svg.chart').length") >= 3
        rows = driver.execute_script("return document.querySelectorAll('table.summary tbody tr').length")
        assert rows == 13  # one summary row per 测评项 of the map
        # Self-contained: no script, font or image fetched from anywhere.
        assert driver.execute_script("return performance.getEntriesByType('resource').length") == 0
        errors = [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
    finally:
        driver.quit()
    assert errors == []
