"""测评项 judgements follow the real state of catalog, policy, keyring, audit chain, approvals and
the release ledger — each crafted here through the suite's own commands and stores."""

from __future__ import annotations

import json
import sqlite3
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from classifier.settings import get_settings
from soc.cli.main import app
from tests.soc.evidence_world import RESIDENT_ID, world  # noqa: F401  (the crafted state, a fixture)
PERIOD = {"start": "2026-03-01", "end": "2026-03-31"}  # the crafted events' month


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout if result.exit_code in (0, 1) else result.output


def _report(now: datetime | None = None) -> dict[str, Any]:
    from soc.evidence.pack import control_map
    from soc.evidence.report import build_report
    from soc.evidence.scope import make_scope

    settings = get_settings()
    return build_report(settings, control_map(settings), make_scope(settings, now=now, **PERIOD))


def _items(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {i["item"]: i for i in report["items"]}


def test_empty_install_is_judged_not_met(data_dir: Path) -> None:
    code, out = _run("evidence", "check", "--format", "json", "--from", "2026-03-01", "--to", "2026-03-31")
    assert code == 1
    items = _items(json.loads(out))
    assert items["43697-5.6"]["judgement"] == "不符合"
    assert "no dataset has been classified" in items["43697-5.6"]["reason"]
    assert items["8.1.4.3c"]["judgement"] == "不符合"  # an empty audit trail proves nothing
    assert "Traceback" not in out


def test_populated_install_judgements_cite_figures(world: Path) -> None:
    report = _report()
    items = _items(report)
    assert items["8.1.4.3c"]["judgement"] == "符合"
    assert "verify over 6 event(s) and agree with the anchors" in items["8.1.4.3c"]["reason"]
    assert report["evidence"]["audit_integrity"]["details"]["rollback_detectable"] is True
    assert items["8.1.4.3a"]["reason"] == ("符合: 6 event(s) on 3 day(s) in the period, 2.0/day on average; "
                                           "1 action type(s) recorded")
    assert items["8.1.5.4d"]["judgement"] == "符合" and "retention 180 days" in items["8.1.5.4d"]["reason"]
    assert items["39786-8.4de"]["judgement"] == "符合"
    record = items["8.1.4.3c"]["record_text"]
    assert record.startswith("经核查（安全审计）") and record.endswith("测评结果：符合。")
    inventory = report["evidence"]["classification"]["tables"]["classification_inventory"]
    assert {(r["field"], r["grade"]) for r in inventory} >= {("公民身份号码", "L4")}
    text = json.dumps(report, ensure_ascii=False)
    assert RESIDENT_ID not in text and "13812340001" not in text


def test_no_reviews_make_classification_partly_met_until_reviewed(world: Path) -> None:
    item = _items(_report())["43697-5.6"]
    assert item["judgement"] == "部分符合"
    assert "0 of 1 L3+ field(s) reviewed" in item["reason"]
    assert _run("classify", "review", "pop_basic", "公民身份号码", "--accept", "--reviewer", "王芳",
                "--comment", "确认")[0] == 0
    item = _items(_report())["43697-5.6"]
    assert item["judgement"] == "符合" and "1 of 1 L3+ field(s)" in item["reason"]


def test_retention_of_90_days_fails_8_1_5_4_d(world: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHUWEI_SOC__RETENTION_DAYS", "90")
    get_settings.cache_clear()
    item = _items(_report())["8.1.5.4d"]
    assert item["judgement"] == "不符合"
    assert "retention set to 90 days, below the 180 days" in item["reason"]


def test_broken_chain_fails_8_1_4_3_c_and_integrity_items(world: Path) -> None:
    db = sqlite3.connect(world / "soc.db")
    db.execute("UPDATE events SET user = 'someone_else' WHERE event_id = 'e2'")
    db.commit()
    db.close()
    items = _items(_report())
    for item in ("8.1.4.3c", "8.1.4.7", "39786-8.4g"):
        assert items[item]["judgement"] == "不符合", item
    assert "audit trail tampered: 1 problem(s), first: edited" in items["8.1.4.3c"]["reason"]
    assert items["8.1.4.3a"]["judgement"] == "符合"  # the events are there; only their integrity fails


def test_integrity_without_anchors_is_partly_met_rollback_undetectable(world: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SHUWEI_SOC__ANCHORS")
    get_settings.cache_clear()
    report = _report()
    item = _items(report)["8.1.4.7"]
    assert item["judgement"] == "部分符合"
    assert "rollback cannot be detected: no anchors (soc.anchors)" in item["reason"]
    assert report["evidence"]["audit_integrity"]["details"]["rollback_detectable"] is False


def test_integrity_from_the_unkeyed_chain_alone_is_not_met(world: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An intact SM3 chain without signed checkpoints (no master key) proves nothing against
    whoever can write the store."""
    monkeypatch.delenv("SHUWEI_MASTER_KEY")
    get_settings.cache_clear()
    item = _items(_report())["8.1.4.7"]
    assert item["judgement"] == "不符合" and "not signed (no master key)" in item["reason"]


def test_l4_field_released_in_clear_fails_8_1_4_8(world: Path) -> None:
    from crypto.share import releases

    releases.record(world, dataset="pop_basic", user="u9", role="analyst", org="市统计局", purpose="统计",
                    approval_id=None, rows=50, fields={"姓名": "mask_name", "公民身份号码": "keep"},
                    now=datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc))
    items = _items(_report())
    assert items["8.1.4.8"]["judgement"] == "不符合"
    assert "1 L4 field(s) released in clear without an approval in 1 release(s): pop_basic.公民身份号码" \
        in items["8.1.4.8"]["reason"]
    ledger = _report()["evidence"]["releases"]["tables"]["releases_per_consumer"]
    assert ledger == [{"org": "市统计局", "role": "analyst", "releases": 1, "rows": 50,
                       "fields_in_clear": "pop_basic.公民身份号码", "approvals": ""}]


def test_policy_rule_granting_l4_in_clear_fails_8_1_4_8(world: Path, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    policy = Path(get_settings().policy_dir / "masking.yaml").read_text(encoding="utf-8")
    policy = policy.replace("rules:\n", "rules:\n  - id: analyst-sees-ids\n    match: {roles: [analyst], "
                            "entities: [CN_RESIDENT_ID]}\n    strategy: keep\n", 1)
    (tmp_path / "masking.yaml").write_text(policy, encoding="utf-8")
    monkeypatch.setenv("SHUWEI_CRYPTO__POLICY_FILE", str(tmp_path / "masking.yaml"))
    get_settings.cache_clear()
    report = _report()
    item = _items(report)["8.1.4.8"]
    assert item["judgement"] == "不符合"
    assert "1 L4 field(s) released in clear under rule analyst-sees-ids: pop_basic.公民身份号码" in item["reason"]
    replay = report["evidence"]["protection"]["tables"]["default_deny_replay"]
    assert replay and all(not r["in_clear"] for r in replay)  # an unknown role still gets nothing


def test_overdue_key_fails_key_management(world: Path) -> None:
    later = datetime.now(timezone.utc) + timedelta(days=400)
    item = _items(_report(now=later))["39786-8.4de"]
    assert item["judgement"] == "不符合"
    assert "active key(s) not rotated within 365 days: default (400 days)" in item["reason"]


def test_approvals_in_force_expired_and_refused_self_approval(world: Path) -> None:
    from crypto.share import approvals as store

    now = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
    consumer = store.Consumer("市卫健委", "researcher")
    kept = store.request(world, dataset="pop_basic", fields=["姓名"], consumer=consumer, purpose="研究",
                         valid_from=date(2026, 3, 1), valid_until=date(2099, 12, 31), requested_by="li",
                         now=now)
    short = store.request(world, dataset="pop_basic", fields=["姓名"], consumer=consumer, purpose="研究",
                          valid_from=date(2026, 3, 1), valid_until=date(2026, 3, 5), requested_by="li", now=now)
    for a in (kept, short):
        store.decide(world, a.approval_id, "approve", decided_by="wang", now=now, today=now.date())
    with pytest.raises(store.ShareError):
        store.decide(world, store.request(world, dataset="pop_basic", fields=["姓名"], consumer=consumer,
                                          purpose="研究", valid_from=date(2026, 3, 1),
                                          valid_until=date(2099, 12, 31), requested_by="li",
                                          now=now).approval_id, "approve", decided_by="li", now=now,
                     today=now.date())
    evidence = _report()["evidence"]["approvals"]
    assert evidence["status"] == "met"
    assert evidence["details"]["in_force"] == 1 and evidence["details"]["by_state"]["expired"] == 1
    assert evidence["details"]["by_state"]["pending"] == 1


def test_not_applicable_is_recorded_with_reason_and_audited(world: Path) -> None:
    code, out = _run("evidence", "not-applicable", "8.1.5.4c", "--reason", "运行状况由云平台集中监测",
                     "--by", "合规官张敏")
    assert code == 0, out
    item = _items(_report())["8.1.5.4c"]
    assert item["judgement"] == "不适用" and "运行状况由云平台集中监测" in item["reason"]
    assert item["not_applicable"]["recorded_by"] == "合规官张敏"
    outbox = (world / "audit" / "outbox.jsonl").read_text(encoding="utf-8").splitlines()
    events = [json.loads(line) for line in outbox]
    assert any(e["action"] == "config_change" and e["extra"]["operation"] == "evidence_not_applicable"
               and e["extra"]["item"] == "8.1.5.4c" for e in events)
    assert _run("evidence", "not-applicable", "8.1.5.4c", "--reason", "误录", "--by", "合规官张敏",
                "--withdraw")[0] == 0
    assert _items(_report())["8.1.5.4c"]["judgement"] == "符合"
    code, out = _run("evidence", "not-applicable", "9.9.9", "--reason", "x", "--by", "y")
    assert code == 2 and "unknown 测评项 '9.9.9'" in out


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


def test_bad_period_and_level_are_one_line_errors(data_dir: Path) -> None:
    code, out = _run("evidence", "check", "--from", "2026-04-01", "--to", "2026-03-01")
    assert code == 2 and "from 2026-04-01 is not before to 2026-03-01" in out and "Traceback" not in out
    code, out = _run("evidence", "check", "--level", "2")
    assert code == 2 and "level 3 only" in out
