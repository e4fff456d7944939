"""No single rule can crash or stall detection: huge and deeply nested rules, pathological
regexes, rules that raise at evaluation -- at load, in a hunt and at ingest."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from soc.detection import RulePack, StreamingDetector, hunt
from soc.detection.compiler import Predicate
from tests.soc.detection_helpers import RULE_ID, matching_lines, write_rule
from tests.soc.pipeline_helpers import RULE_BULK, event, use_rules

OTHER_ID = "00000000-0000-4000-8000-0000000000ff"


def _nested(depth: int) -> dict[str, Any]:
    """``s0 and (s1 or (s2 and (s3 or ...)))``, ``depth`` groups deep."""
    detection: dict[str, Any] = {f"s{i}": {f"f{i}": f"v{i}"} for i in range(depth + 1)}
    cond = f"s{depth}"
    for i in reversed(range(depth)):
        cond = f"s{i} {'and' if i % 2 == 0 else 'or'} ({cond})"
    detection["condition"] = cond
    return detection


def test_ten_thousand_values_load_and_match(tmp_path: Path) -> None:
    values = [f"pkg-{i:05d}" for i in range(10_000)]
    detection = {"sel": {"cmd|contains": values}, "exact": {"name": values},
                 "condition": "sel or exact"}
    pack = RulePack.load(write_rule(tmp_path, detection))
    assert pack.errors == []
    events = [{"cmd": "npm install PKG-07777 --save"}, {"cmd": "npm install left-pad"},
              {"name": "pkg-09999"}, {"name": "pkg-09999x"}, {"cmd": ["x", "a pkg-00000"]}]
    assert [m.line for m in hunt(pack, events)] == [1, 3, 5]


def test_long_or_chain_does_not_recurse(tmp_path: Path) -> None:
    """3,000 selections OR-ed in the condition itself (not one value list)."""
    detection: dict[str, Any] = {f"s{i}": {"f": f"v{i}"} for i in range(3000)}
    detection["condition"] = " or ".join(f"s{i}" for i in range(3000))
    events = [{"f": "v2999"}, {"f": "v3000"}, {"f": "V0"}]
    assert matching_lines(tmp_path, detection, events) == [1, 3]


def test_fifty_nested_groups(tmp_path: Path) -> None:
    all_match = {f"f{i}": f"v{i}" for i in range(51)}
    # s0 and (s1 or ...): s0 plus s1 is enough; s0 alone is not (s2 ... s50 are absent).
    events = [all_match, {"f0": "v0", "f1": "v1"}, {"f0": "v0"}, {"f1": "v1"}]
    assert matching_lines(tmp_path, _nested(50), events) == [1, 2]


def test_pathological_regex_runs_in_linear_time(tmp_path: Path) -> None:
    """``(a+)+$`` backtracks exponentially in Python's re; RE2 answers at once."""
    events = [{"q": "a" * 50_000 + "!"}, {"q": "aaa"}]
    assert matching_lines(tmp_path, {"sel": {"q|re": "^(a+)+$"}, "condition": "sel"}, events) == [2]


@pytest.mark.parametrize("regex", ["(?<=a)b", "(?=x)y", r"(a)\1", "a++"])
def test_regex_re2_cannot_express_is_refused_with_reason(tmp_path: Path, regex: str) -> None:
    pack = RulePack.load(write_rule(tmp_path, {"sel": {"q|re": regex}, "condition": "sel"}))
    assert pack.rules == []
    (err,) = pack.errors
    assert err.rule_id == RULE_ID and err.path.endswith("rule.yml")
    assert "RE2" in err.reason and regex in err.reason


def _poisoned(monkeypatch: pytest.MonkeyPatch, title: str) -> None:
    """Make the compiled predicate of the rule titled ``title`` raise on every event."""
    import soc.detection.pack as pack_module

    real = pack_module.compile_rule

    def compile_rule(rule: Any, *args: Any, **kwargs: Any) -> Predicate:
        pred = real(rule, *args, **kwargs)
        if rule.title != title:
            return pred

        def boom(event: dict[str, Any]) -> bool:
            raise KeyError("boom")
        return boom
    monkeypatch.setattr(pack_module, "compile_rule", compile_rule)


def _two_rules(tmp_path: Path) -> Path:
    good = {"title": "Good", "id": OTHER_ID, "logsource": {"product": "shuwei"},
            "detection": {"sel": {"action": "export"}, "condition": "sel"}}
    bad = {"title": "Poison", "id": RULE_ID, "logsource": {"product": "shuwei"},
           "detection": {"sel": {"action": "export"}, "condition": "sel"}}
    path = tmp_path / "rules.yml"
    path.write_text(yaml.safe_dump_all([bad, good]), encoding="utf-8")
    return path


def test_rule_raising_at_evaluation_is_disabled_and_reported(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    _poisoned(monkeypatch, "Poison")
    pack = RulePack.load(_two_rules(tmp_path))
    events = [{"action": "export"}, {"action": "query"}, {"action": "export"}]
    result = hunt(pack, events)
    assert [(m.rule_id, m.line) for m in result] == [(OTHER_ID, 1), (OTHER_ID, 3)]
    (err,) = result.errors
    assert err.rule_id == RULE_ID and "KeyError" in err.reason and "disabled" in err.reason
    det = StreamingDetector(pack)
    assert [m.rule_id for m in det.process({"action": "export"})] == [OTHER_ID]
    assert [m.rule_id for m in det.process({"action": "export"})] == [OTHER_ID]
    assert len(det.errors) == 1  # reported once, then the rule stays off


def test_rule_raising_at_ingest_does_not_stop_alerting(settings: Any, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from soc.ingest import IngestPipeline

    poison = RULE_BULK.replace("Bulk export (test)", "Poison").replace(
        "11111111-1111-4111-8111-111111111111", RULE_ID)
    _poisoned(monkeypatch, "Poison")
    settings = use_rules(tmp_path, monkeypatch, poison, RULE_BULK)
    pipe = IngestPipeline.from_settings(settings, playbooks=False)
    try:
        res = pipe.ingest([event(1, action="export", rows=5000), event(2, action="export", rows=9000)],
                          origin="test")
        assert res.rejected == [] and res.accepted == 2
        assert [a["rule_id"] for a in res.alerts] == ["11111111-1111-4111-8111-111111111111"]
        assert [e.rule_id for e in pipe.detector.errors] == [RULE_ID]
    finally:
        pipe.close()


def test_broken_files_do_not_hide_the_others(tmp_path: Path) -> None:
    (tmp_path / "a_binary.yml").write_bytes(b"\xff\xfe\x00garbage")
    (tmp_path / "b_list.yml").write_text("- just\n- a list\n", encoding="utf-8")
    (tmp_path / "c_deep.yml").write_text("a: " + "[" * 5000 + "]" * 5000 + "\n", encoding="utf-8")
    write_rule(tmp_path, {"sel": {"action": "login"}, "condition": "sel"}, name="d_good.yml")
    pack = RulePack.load(tmp_path)
    assert [r.title for r in pack.rules] == ["Test rule"]
    assert sorted(Path(e.path).name for e in pack.errors) == ["a_binary.yml", "b_list.yml",
                                                              "c_deep.yml"]
    assert all(e.reason for e in pack.errors)
