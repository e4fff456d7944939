"""Fixtures of the classifier tests: a classifier on the repo's policy, and a writable policy copy."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from classifier.classify import Classifier
from classifier.settings import REPO_ROOT, Settings, get_settings


@pytest.fixture()
def classifier(settings: Settings) -> Classifier:
    return Classifier.from_settings(settings)


@pytest.fixture()
def policy_dir(tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of ``policies/`` the test may edit; settings point at it."""
    target = tmp_path / "policies"
    shutil.copytree(REPO_ROOT / "policies", target, ignore=shutil.ignore_patterns("sigma*"))
    monkeypatch.setenv("SHUWEI_POLICY_DIR", str(target))
    get_settings.cache_clear()
    return target
