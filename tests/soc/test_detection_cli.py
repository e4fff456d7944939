"""`shuwei soc hunt` and `shuwei soc rules check` through the real CLI app."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from typer.testing import CliRunner

from soc.cli.main import app

PACK = Path(__file__).resolve().parents[2] / "policies" / "sigma"
runner = CliRunner()


def _events(tmp: Path) -> Path:
    rows = [{"ts": f"2026-03-02T10:00:{i:02d}+08:00", "event_id": f"e{i}", "user": "u1",
             "action": "login", "result": "denied"} for i in range(10)]
    rows.insert(2, {"free": "form", "dataset": "canary_people", "action": "query"})
    f = tmp / "events.jsonl"
    f.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return f


def test_hunt_json_contract(tmp_path: Path, data_dir: Path) -> None:
    for backend in ("memory", "sqlite"):
        res = runner.invoke(app, ["soc", "hunt", "--rules", str(PACK), "--events",
                                  str(_events(tmp_path)), "--backend", backend, "--format", "json"])
        assert res.exit_code == 0, res.output
        out = json.loads(res.stdout)
        assert out[0] == {"rule_id": out[0]["rule_id"], "rule_title": "Honeytoken Dataset Touched",
                          "line": 3, "level": "critical"}  # no event_id: the event has none
        corr = out[1]
        assert corr["correlation"] is True and corr["group"] == {"user": "u1"}
        assert corr["lines"] == [1, 2, *range(4, 12)] and corr["line"] == 11
        assert corr["event_id"] == "e9"
        assert set(corr) == {"rule_id", "rule_title", "line", "event_id", "level", "correlation",
                             "group", "lines"}


def test_hunt_reports_rules_that_failed_to_load(tmp_path: Path, data_dir: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "ok.yml").write_text(yaml.safe_dump({
        "title": "ok", "id": "00000000-0000-4000-8000-000000000001", "logsource": {"product": "x"},
        "detection": {"sel": {"user": "u1"}, "condition": "sel"}}), encoding="utf-8")
    (rules / "bad.yml").write_text(yaml.safe_dump({
        "title": "bad", "id": "00000000-0000-4000-8000-000000000002", "logsource": {"product": "x"},
        "detection": {"sel": {"user|bogus": "u1"}, "condition": "sel"}}), encoding="utf-8")
    res = runner.invoke(app, ["soc", "hunt", "--rules", str(rules), "--events",
                              str(_events(tmp_path)), "--format", "json"])
    assert res.exit_code == 1
    assert len(json.loads(res.stdout)) == 10  # the good rule still ran
    assert "bad.yml" in res.stderr and "bogus" in res.stderr


def test_hunt_without_events_uses_the_store_and_fails_cleanly_when_empty(data_dir: Path) -> None:
    res = runner.invoke(app, ["soc", "hunt", "--rules", str(PACK)])
    assert res.exit_code == 2 and "soc.db" in res.stderr and "Traceback" not in res.output


def test_hunt_table_format(tmp_path: Path, data_dir: Path) -> None:
    res = runner.invoke(app, ["soc", "hunt", "--rules", str(PACK), "--events", str(_events(tmp_path))])
    assert res.exit_code == 0
    assert res.stdout.splitlines()[0].split() == ["line", "rule_id", "level", "rule_title",
                                                  "event_id", "group", "lines"]


def test_rules_check(tmp_path: Path, data_dir: Path) -> None:
    res = runner.invoke(app, ["soc", "rules", "check", str(PACK), "--format", "json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout) == []
    (tmp_path / "r.yml").write_text(yaml.safe_dump({
        "title": "t", "logsource": {"product": "x"},
        "detection": {"sel": {"user": "u1"}, "other": {"a": 1}, "condition": "sel"}}), encoding="utf-8")
    res = runner.invoke(app, ["soc", "rules", "check", str(tmp_path / "r.yml"), "--format", "json"])
    assert res.exit_code == 1
    checks = {p["check"] for p in json.loads(res.stdout)}
    assert {"IdentifierExistenceIssue", "DanglingDetectionIssue"} <= checks
    res = runner.invoke(app, ["soc", "rules", "check", str(tmp_path / "nope")])
    assert res.exit_code == 2


def test_rules_list(data_dir: Path) -> None:
    res = runner.invoke(app, ["soc", "rules", "list", str(PACK), "--format", "json"])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.stdout)
    assert len(rows) == len(list(PACK.glob("*.yml")))
    kinds = {r["kind"] for r in rows}
    assert {"detection", "event_count", "value_count", "temporal_ordered"} <= kinds
    res = runner.invoke(app, ["soc", "rules", "list", str(PACK), "--limit", "3", "--format", "json"])
    assert len(json.loads(res.stdout)) == 3


def test_rules_check_refuses_a_file_or_directory_without_rules(tmp_path: Path, data_dir: Path) -> None:
    empty = tmp_path / "pack"
    empty.mkdir()
    res = runner.invoke(app, ["soc", "rules", "check", str(empty), "--format", "json"])
    assert res.exit_code == 1
    assert [p["check"] for p in json.loads(res.stdout)] == ["empty"]
    (empty / "empty.yml").write_text("", encoding="utf-8")
    (empty / "comment.yaml").write_text("# nothing yet\n---\n", encoding="utf-8")
    res = runner.invoke(app, ["soc", "rules", "check", str(empty)])
    assert res.exit_code == 1
    assert "no problems found" not in res.output
    assert "comment.yaml" in res.output and "empty.yml" in res.output
    assert res.output.count("no Sigma rules in this file") == 2
