"""Crypto fixtures: a master key in the environment and a keyring in the test's data dir."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from classifier.settings import Settings
from crypto.keyring import Keyring


@pytest.fixture()
def master_key(monkeypatch: pytest.MonkeyPatch) -> bytes:
    key = os.urandom(32)
    monkeypatch.setenv("SHUWEI_MASTER_KEY", key.hex())
    monkeypatch.delenv("SHUWEI_MASTER_KEY_FILE", raising=False)
    return key


@pytest.fixture()
def keyring(settings: Settings, master_key: bytes) -> Keyring:
    return Keyring.open(settings, actor="tester")


@pytest.fixture()
def outbox(data_dir: Path) -> Path:
    return data_dir / "audit" / "outbox.jsonl"
