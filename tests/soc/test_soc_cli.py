"""`shuwei soc ingest | alerts | alert | verify | purge`: output, exit codes, no tracebacks."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from soc.cli.main import app
from soc.integrity.verify import NO_KEY
from tests.soc.pipeline_helpers import RULE_BULK, RULE_CANARY, event, use_rules

runner = CliRunner()
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture()
def env(settings, tmp_path, monkeypatch):
    return use_rules(tmp_path, monkeypatch, RULE_BULK, RULE_CANARY)


def shuwei(*args: str, stdin: str | None = None):
    return runner.invoke(app, list(args), input=stdin)


def write(path: Path, lines: list[object]) -> Path:
    path.write_text("\n".join(x if isinstance(x, str) else json.dumps(x, ensure_ascii=False)
                              for x in lines) + "\n", encoding="utf-8")
    return path


def test_ingest_file_reports_rejections_and_exits_2(env, tmp_path):
    f = write(tmp_path / "ev.jsonl", [event(1, action="export", rows=5000), "oops",
                                      event(3, rows=-1), event(4)])
    r = shuwei("soc", "ingest", str(f))
    assert r.exit_code == 2
    assert "accepted 2, duplicates 0, rejected 2, alerts 1" in r.stdout
    assert "line 2: not JSON" in r.stderr and "line 3 field 'rows'" in r.stderr
    assert "Traceback" not in r.output
    again = shuwei("soc", "ingest", str(f), "--format", "json")
    data = json.loads(again.stdout)
    assert data["accepted"] == 0 and data["duplicates"] == 2 and len(data["rejected"]) == 2


def test_ingest_stdin_and_usage_errors(env):
    ok = shuwei("soc", "ingest", "-", "-f", "json",
                stdin=json.dumps(event(1)) + "\n" + json.dumps(event(2, dataset="canary_a")) + "\n")
    assert ok.exit_code == 0, ok.output
    data = json.loads(ok.stdout)
    assert data["accepted"] == 2 and [a["rule_title"] for a in data["alerts"]] == ["Canary touched (test)"]
    assert shuwei("soc", "ingest", "nope.jsonl").exit_code == 2
    assert shuwei("soc", "ingest").exit_code == 2


def test_alerts_listing_triage_and_history(env, tmp_path):
    shuwei("soc", "ingest", str(write(tmp_path / "e.jsonl", [
        event(i, user=f"u{i}", action="export", rows=5000) for i in range(1, 8)])))
    listed = shuwei("soc", "alerts", "--format", "json")
    alerts = json.loads(listed.stdout)
    assert len(alerts) == 7  # no silent page cap
    assert len(json.loads(shuwei("soc", "alerts", "--limit", "3", "-f", "json").stdout)) == 3
    aid = alerts[0]["id"]
    assert shuwei("soc", "alert", aid, "ack", "--by", "alice").exit_code == 0
    assert shuwei("soc", "alert", aid, "note", "owner says planned", "--by", "alice").exit_code == 0
    assert shuwei("soc", "alert", aid, "assign", "bob", "--by", "alice").exit_code == 0
    done = json.loads(shuwei("soc", "alert", aid, "resolve", "--by", "bob", "-f", "json").stdout)
    assert done["status"] == "resolved" and done["assignee"] == "bob"
    assert [h["change"] for h in done["history"]] == ["created", "status", "note", "assignee", "status"]
    table = shuwei("soc", "alert", aid)
    assert table.exit_code == 0 and "history:" in table.stdout and "resolved" in table.stdout
    resolved = json.loads(shuwei("soc", "alerts", "--status", "resolved", "-f", "json").stdout)
    assert [a["id"] for a in resolved] == [aid]
    fp = shuwei("soc", "alert", alerts[1]["id"], "false-positive")
    assert fp.exit_code == 0
    bad = shuwei("soc", "alert", aid, "ack")
    assert bad.exit_code == 2 and "resolved; it cannot become acknowledged" in bad.stderr
    assert shuwei("soc", "alert", "alert-nope", "ack").exit_code == 2
    assert shuwei("soc", "alert", aid, "assign").exit_code == 2
    assert shuwei("soc", "alert", aid, "close").exit_code == 2
    assert shuwei("soc", "alerts", "--status", "open").exit_code == 2


def test_verify_and_purge(env, tmp_path):
    shuwei("soc", "ingest", str(write(tmp_path / "e.jsonl", [
        event(1, ts="2025-01-05T10:00:00+08:00"), event(2, ts="2025-01-06T10:00:00+08:00"),
        event(3), event(4)])))
    ok = shuwei("soc", "verify")
    assert ok.exit_code == 0 and "4 events verified" in ok.stdout
    purged = shuwei("soc", "purge", "--before", "2026-01-01", "--by", "ops", "-f", "json")
    assert purged.exit_code == 0, purged.output
    assert json.loads(purged.stdout)["purged"] == 2
    after = json.loads(shuwei("soc", "verify", "-f", "json").stdout)
    assert after == {"ok": True, "checked": 3, "purged": 2, "signed": 0, "problems": [],
                     "warnings": [NO_KEY]}
    db = sqlite3.connect(env.data_dir / "soc.db")
    db.execute("UPDATE events SET rows = 1 WHERE event_id = 't-000003'")
    db.commit()
    bad = shuwei("soc", "verify")
    assert bad.exit_code == 1 and "TAMPERED" in bad.stdout and "t-000003" in bad.stdout
    assert shuwei("soc", "purge", "--before", "last week").exit_code == 2


def test_real_entry_point_help_and_bad_input(env, tmp_path):
    f = write(tmp_path / "bad.jsonl", ["{"])
    proc = subprocess.run([sys.executable, "-m", "soc.cli.main", "soc", "ingest", str(f)],
                          capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=str(REPO)))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and "line 1" in proc.stderr
    for cmd in (["soc", "--help"], ["soc", "ingest", "--help"], ["soc", "alert", "--help"],
                ["soc", "purge", "--help"], ["soc", "verify", "--help"]):
        assert shuwei(*cmd).exit_code == 0


def test_purge_default_is_the_retention_setting(settings, tmp_path, monkeypatch):
    from datetime import datetime, timedelta, timezone

    use_rules(tmp_path, monkeypatch, RULE_BULK, retention_days="30")
    now = datetime.now(timezone.utc)
    shuwei("soc", "ingest", str(write(tmp_path / "e.jsonl", [
        event(1, ts=(now - timedelta(days=31)).isoformat()),
        event(2, ts=(now - timedelta(days=29)).isoformat())])))
    r = shuwei("soc", "purge", "-f", "json")
    assert r.exit_code == 0 and json.loads(r.stdout)["purged"] == 1
    assert json.loads(shuwei("soc", "verify", "-f", "json").stdout)["ok"] is True
