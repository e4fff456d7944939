"""The crafted state the evidence tests start from: one scanned dataset, one key, six stored
audit events in March 2026 — made through the suite's own commands."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from classifier.settings import get_settings
from soc.cli.main import app

RESIDENT_ID = "11010519491231002X"


def run_cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


@pytest.fixture()
def world(data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data dir with one scanned dataset, one key and a few stored audit events."""
    monkeypatch.setenv("SHUWEI_MASTER_KEY", os.urandom(32).hex())
    monkeypatch.setenv("SHUWEI_SOC__ANCHORS", str(tmp_path / "anchors"))
    get_settings.cache_clear()
    csv = tmp_path / "pop_basic.csv"
    rows = ["姓名,公民身份号码,联系电话"] + [f"张三{i},{RESIDENT_ID},1381234{i:04d}" for i in range(50)]
    csv.write_text("\n".join(rows) + "\n", encoding="utf-8")
    assert run_cli("classify", "scan", str(csv))[0] == 0
    assert run_cli("crypto", "keys", "create", "default")[0] == 0
    events = tmp_path / "events.jsonl"
    events.write_text("".join(json.dumps({
        "ts": f"2026-03-0{1 + i % 3}T10:0{i}:00+08:00", "event_id": f"e{i}", "source": "portal",
        "user": "u1", "action": "query", "result": "success", "dataset": "pop_basic",
        "fields": ["姓名"], "rows": 1, "approval_id": "AP-1"}) + "\n" for i in range(6)),
        encoding="utf-8")
    code, out = run_cli("soc", "ingest", str(events))
    assert code == 0, out
    return data_dir
