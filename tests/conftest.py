"""Shared fixtures: every test gets its own data directory and fresh settings."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from classifier.settings import Settings, get_settings


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
