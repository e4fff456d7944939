"""Shared fixtures: every test gets its own data directory and fresh settings."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from classifier.settings import Settings, get_settings

if TYPE_CHECKING:
    from tests.browser import Chromium


@pytest.fixture()
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An isolated ``SHUWEI_DATA_DIR`` for one test."""
    path = tmp_path / "var"
    monkeypatch.setenv("SHUWEI_DATA_DIR", str(path))
    monkeypatch.delenv("SHUWEI_CONFIG", raising=False)
    get_settings.cache_clear()
    yield path
    get_settings.cache_clear()


@pytest.fixture()
def settings(data_dir: Path) -> Settings:
    return get_settings()


@pytest.fixture(scope="session")
def chromium() -> "Chromium":
    """Debian's headless Chromium + ChromeDriver; skipped with the reason outside CI, fails in CI."""
    from tests.browser import ChromiumUnavailable, ensure_chromium, under_ci

    try:
        return ensure_chromium()
    except ChromiumUnavailable as exc:
        if under_ci():
            pytest.fail(f"Chromium is required under CI: {exc}", pytrace=False)
        pytest.skip(f"Chromium unavailable: {exc}. Run scripts/install-chromium.sh as root.")
