"""Evidence export: controls follow the real state of catalog, keyring, audit chain and alerts."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from classifier.settings import get_settings
from soc.cli.main import app

RESIDENT_ID = "11010519491231002X"


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout if result.exit_code in (0, 1) else result.output


@pytest.fixture()
def world(data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data dir with one scanned dataset, one key and a few stored audit events."""
    monkeypatch.setenv("SHUWEI_MASTER_KEY", os.urandom(32).hex())
    monkeypatch.setenv("SHUWEI_SOC__ANCHORS", str(tmp_path / "anchors"))
    get_settings.cache_clear()
    csv = tmp_path / "pop_basic.csv"
    rows = ["姓名,公民身份号码,联系电话"] + [f"张三{i},{RESIDENT_ID},1381234{i:04d}" for i in range(50)]
    csv.write_text("\n".join(rows) + "\n", encoding="utf-8")
    assert _run("classify", "scan", str(csv))[0] == 0
    assert _run("crypto", "keys", "create", "default")[0] == 0
    events = tmp_path / "events.jsonl"
    events.write_text("".join(json.dumps({
        "ts": f"2026-03-02T10:0{i}:00+08:00", "event_id": f"e{i}", "source": "portal",
        "user": "u1", "action": "query", "result": "success", "dataset": "pop_basic",
        "fields": ["姓名"], "rows": 1, "approval_id": "AP-1"}) + "\n" for i in range(5)),
        encoding="utf-8")
    code, out = _run("soc", "ingest", str(events))
    assert code == 0, out
    return data_dir


def test_empty_install_reports_gaps(data_dir: Path) -> None:
    code, out = _run("evidence", "check", "--format", "json")
    assert code == 1
    controls = {c["id"]: c for c in json.loads(out)}
    assert controls["dsl-classification"]["gaps"] == ["classification", "classification_review"]
    assert controls["djcp-8.1.4.3"]["status"] == "gap"  # an empty audit trail proves nothing


def test_populated_install_meets_controls_and_masks_values(world: Path, tmp_path: Path) -> None:
    out_file = tmp_path / "evidence.json"
    code, _ = _run("evidence", "export", "--out", str(out_file))
    assert code == 0
    report = json.loads(out_file.read_text(encoding="utf-8"))
    status = {c["id"]: c["status"] for c in report["controls"]}
    assert status["dsl-classification"] == "gap"  # scanned, but no owner has reviewed a column
    review = report["evidence"]["classification_review"]
    assert review["status"] == "gap" and "0 of 1 L3+ column(s)" in review["summary"]
    assert status["mp-8.4-de"] == "met"
    assert status["djcp-8.1.4.7"] == "met"
    integrity = report["evidence"]["audit_integrity"]
    assert integrity["details"]["checked"] == 5 and integrity["details"]["rollback_detectable"] is True
    assert "agree with the anchors" in integrity["summary"]
    assert report["evidence"]["classification"]["details"]["by_grade"] == {"L4": 1}
    code, md = _run("evidence", "export", "--format", "markdown")
    assert "GB/T 39786-2021" in md
    for text in (out_file.read_text(encoding="utf-8"), md):
        assert RESIDENT_ID not in text and "13812340001" not in text


def test_tampered_audit_trail_breaks_integrity_controls(world: Path) -> None:
    db = sqlite3.connect(world / "soc.db")
    db.execute("UPDATE events SET user = 'someone_else' WHERE event_id = 'e2'")
    db.commit()
    db.close()
    code, out = _run("evidence", "check", "--format", "json")
    assert code == 1
    gaps = {c["id"] for c in json.loads(out) if c["status"] == "gap"}
    assert {"djcp-8.1.4.7", "mp-8.4-g", "djcp-8.1.4.3"} <= gaps


def test_integrity_without_anchors_says_rollback_cannot_be_detected(world: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SHUWEI_SOC__ANCHORS")
    get_settings.cache_clear()
    code, out = _run("evidence", "export")
    integrity = json.loads(out)["evidence"]["audit_integrity"]
    assert integrity["status"] == "partial" and integrity["details"]["rollback_detectable"] is False
    assert "rollback cannot be detected: no anchors (soc.anchors)" in integrity["summary"]


def test_integrity_from_the_unkeyed_chain_alone_is_a_gap(world: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The issue's insider: events edited and the whole chain recomputed; checkpoints signed
    under another key do not count, nor does an intact unkeyed chain without a master key."""
    monkeypatch.delenv("SHUWEI_MASTER_KEY")
    get_settings.cache_clear()
    code, out = _run("evidence", "export")
    integrity = json.loads(out)["evidence"]["audit_integrity"]
    assert integrity["status"] == "gap" and "not signed (no master key)" in integrity["summary"]


def test_control_map_with_unknown_evidence_is_named(data_dir: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    bad = tmp_path / "controls.yaml"
    bad.write_text("controls:\n  - {id: x1, standard: S, clause: '1', title: T, evidence: [nope]}\n",
                   encoding="utf-8")
    monkeypatch.setenv("SHUWEI_EVIDENCE__CONTROLS_FILE", str(bad))
    get_settings.cache_clear()
    code, out = _run("evidence", "check")
    assert code == 2
    assert "x1" in out and "unknown evidence nope" in out and "Traceback" not in out


def test_owner_review_is_reported_as_it_stands(world: Path, tmp_path: Path) -> None:
    def review_state() -> tuple[str, dict]:
        code, out = _run("evidence", "export")
        report = json.loads(out)
        control = next(c for c in report["controls"] if c["id"] == "dsl-classification")
        return control["status"], report["evidence"]["classification_review"]

    status, ev = review_state()
    assert status == "gap" and ev["status"] == "gap" and ev["details"]["reviewed"] == 0
    assert _run("classify", "review", "pop_basic", "公民身份号码", "--accept", "--reviewer", "王芳",
                "--comment", "确认")[0] == 0
    status, ev = review_state()
    assert status == "met" and ev["status"] == "met" and "1 of 1" in ev["summary"]
    names = ["欧阳娜娜", "王芳", "李建国", "张伟", "刘洋", "陈静", "杨帆", "赵磊", "黄敏", "周杰"]
    contacts = tmp_path / "contacts.csv"
    contacts.write_text("联系人,手机号码\n" + "".join(f"{n},1391234{i:04d}\n" for i, n in enumerate(names * 3)),
                        encoding="utf-8")
    assert _run("classify", "scan", str(contacts))[0] == 0
    status, ev = review_state()
    assert status == "gap" and ev["status"] == "partial"
    contacts_row, pop_row = ev["details"]["datasets"]
    assert pop_row["unreviewed"] == "" and contacts_row["reviewed"] == 0
    assert f"1 of {1 + contacts_row['sensitive_columns']} L3+" in ev["summary"]
