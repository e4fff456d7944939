"""Sigma filters (meta rules), time-part modifiers, placeholders and log-source labels, on both
the streaming evaluator and the SQLite hunt."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from soc.detection import RulePack, StreamingDetector, hunt
from soc.detection.logsource import EXCHANGE, parse_label
from tests.soc.detection_helpers import RULE_ID, matching_lines

RULE = {"title": "Whoami", "id": RULE_ID, "name": "whoami_exec", "status": "test",
        "logsource": {"product": "windows", "category": "process_creation"},
        "detection": {"sel": {"Image|endswith": "\\whoami.exe"}, "condition": "sel"}}
FILTER = {"title": "Admins may run whoami", "id": "00000000-0000-4000-8000-0000000000f1",
          "logsource": {"product": "windows", "category": "process_creation"},
          "filter": {"rules": ["whoami_exec"],
                     "selection": {"User|startswith": "CORP\\adm-"},
                     "condition": "not selection"}}
EVENTS = [{"Image": "C:\\Windows\\System32\\whoami.exe", "User": "CORP\\li"},
          {"Image": "C:\\Windows\\System32\\whoami.exe", "User": "CORP\\adm-wang"},
          {"Image": "C:\\Windows\\System32\\notepad.exe", "User": "CORP\\li"}]


def _lines(pack: RulePack, events: list[dict], **kw) -> dict[str, list[int | None]]:
    out = {b: [m.line for m in hunt(pack, events, backend=b, **kw)] for b in ("memory", "sqlite")}
    assert out["memory"] == out["sqlite"], out
    return out


def test_filter_in_another_file_applies_to_the_rule_it_names(tmp_path: Path) -> None:
    (tmp_path / "rule.yml").write_text(yaml.safe_dump(RULE), encoding="utf-8")
    assert _lines(RulePack.load(tmp_path), EVENTS)["memory"] == [1, 2]
    (tmp_path / "filters").mkdir()
    (tmp_path / "filters" / "admins.yml").write_text(yaml.safe_dump(FILTER), encoding="utf-8")
    pack = RulePack.load(tmp_path)
    assert pack.errors == [] and len(pack.filters) == 1
    assert _lines(pack, EVENTS)["memory"] == [1]


def test_filter_for_another_logsource_or_rule_does_not_apply(tmp_path: Path) -> None:
    other_source = {**FILTER, "logsource": {"product": "linux"}}
    other_rule = {**FILTER, "id": "00000000-0000-4000-8000-0000000000f2",
                  "filter": {**FILTER["filter"], "rules": ["some_other_rule"]}}
    (tmp_path / "all.yml").write_text(yaml.safe_dump_all([RULE, other_source, other_rule]),
                                      encoding="utf-8")
    pack = RulePack.load(tmp_path)
    assert pack.errors == []
    assert _lines(pack, EVENTS)["memory"] == [1, 2]


def test_invalid_filter_is_reported(tmp_path: Path) -> None:
    bad = {**FILTER, "filter": {"rules": ["whoami_exec"], "condition": "not selection"}}
    (tmp_path / "f.yml").write_text(yaml.safe_dump(bad), encoding="utf-8")
    pack = RulePack.load(tmp_path)
    assert [e.rule_id for e in pack.errors] == [FILTER["id"]]


@pytest.mark.parametrize(("modifier", "value", "expected"), [
    ("hour", 2, [1]),          # 10:15+08:00 is 02:15 UTC
    ("hour", 22, [3]),         # 15:59-07:00 is 22:59 UTC
    ("minute", 15, [1, 2]),
    ("day", 2, [1, 2]),
    ("month", 3, [1, 2, 3]),
    ("year", 2026, [1, 2, 3]),
    ("week", 9, [1, 2]),       # Monday 2026-03-02 starts %W week 09; Sunday 03-01 is in 08
])
def test_time_part_modifiers(tmp_path: Path, modifier: str, value: int, expected: list[int]) -> None:
    events = [{"when": "2026-03-02T10:15:00+08:00"}, {"when": "2026-03-02T10:15:00Z"},
              {"when": "2026-03-01T15:59:00-07:00"}, {"when": "not a time"}, {"when": 1700000000}]
    detection = {"sel": {f"when|{modifier}": value}, "condition": "sel"}
    assert matching_lines(tmp_path, detection, events) == expected


def test_placeholders_from_configuration_or_reported(tmp_path: Path) -> None:
    detection = {"sel": {"User|expand": "%Administrators%"}, "condition": "sel"}
    events = [{"User": "CORP\\root"}, {"User": "CORP\\li"}, {"User": "ops-1"}]
    assert matching_lines(tmp_path, detection, events,
                          placeholders={"Administrators": ["CORP\\root", "ops-*"]}) == [1, 3]
    pack = RulePack.load(tmp_path / "rule.yml")
    det = StreamingDetector(pack, placeholders={})
    assert ["%Administrators%" in e.reason and "soc.placeholders" in e.reason
            for e in det.errors] == [True]


def test_logsource_label_skips_rules_that_cannot_apply(tmp_path: Path) -> None:
    shuwei = {"title": "Exchange", "id": "00000000-0000-4000-8000-0000000000e1",
              "logsource": {"product": "shuwei", "category": "exchange_audit"},
              "detection": {"sel": {"Image|endswith": "\\whoami.exe"}, "condition": "sel"}}
    (tmp_path / "r.yml").write_text(yaml.safe_dump_all([RULE, shuwei]), encoding="utf-8")
    pack = RulePack.load(tmp_path)
    event = [EVENTS[0]]
    ids = {name: {b: [m.rule_id for m in hunt(pack, event, backend=b, logsource=lab)]
                  for b in ("memory", "sqlite")}
           for name, lab in [("none", None), ("exchange", EXCHANGE),
                             ("windows", parse_label("product=windows")),
                             ("sysmon", parse_label("product=windows,category=process_creation,"
                                                    "service=sysmon")),
                             ("linux", parse_label("product=linux"))]}
    assert ids["none"] == {"memory": [RULE_ID, shuwei["id"]], "sqlite": [RULE_ID, shuwei["id"]]}
    assert ids["exchange"] == {"memory": [shuwei["id"]], "sqlite": [shuwei["id"]]}
    assert ids["windows"] == ids["sysmon"] == {"memory": [RULE_ID], "sqlite": [RULE_ID]}
    assert ids["linux"] == {"memory": [], "sqlite": []}
    with pytest.raises(ValueError, match="vendor"):
        parse_label("vendor=x")


def test_exchange_events_have_no_service(tmp_path: Path) -> None:
    apache = {"title": "Apache", "id": "00000000-0000-4000-8000-0000000000a1",
              "logsource": {"service": "apache"},
              "detection": {"keywords": ["export"], "condition": "keywords"}}
    (tmp_path / "r.yml").write_text(yaml.safe_dump(apache), encoding="utf-8")
    pack = RulePack.load(tmp_path)
    event = [{"action": "export"}]
    assert [m.line for m in hunt(pack, event)] == [1]
    assert [m.line for m in hunt(pack, event, logsource=EXCHANGE)] == []
    assert [m.line for m in hunt(pack, event, logsource=parse_label("product=linux"))] == [1]


def test_pipeline_maps_field_names(tmp_path: Path) -> None:
    from soc.detection.pipelines import load_pipeline

    (tmp_path / "rule.yml").write_text(yaml.safe_dump(RULE), encoding="utf-8")
    security = [{"EventID": 4688, "NewProcessName": "C:\\Windows\\System32\\whoami.exe"},
                {"EventID": 4689, "NewProcessName": "C:\\Windows\\System32\\whoami.exe"},
                EVENTS[0]]
    pack = RulePack.load(tmp_path, pipeline=load_pipeline(["windows-audit"]))
    assert pack.errors == []
    assert _lines(pack, security)["memory"] == [1]
    with pytest.raises(ValueError, match="sysmon"):
        load_pipeline(["no-such-pipeline"])
