"""The rule index (soc/detection/index.py): which rules an event is tested against. A superset
test only -- the parity tests prove no match is lost -- but it must narrow where it can."""

from __future__ import annotations

from typing import Any

from sigma.rule import SigmaRule

from soc.detection.compiler import parsed_conditions
from soc.detection.index import RuleIndex, rule_anchor


def _index(*detections: dict[str, Any]) -> RuleIndex:
    anchors = []
    for i, detection in enumerate(detections):
        rule = SigmaRule.from_dict({"title": f"r{i}", "logsource": {"product": "shuwei"},
                                    "detection": detection})
        anchors.append((i, rule_anchor(parsed_conditions(rule))))
    return RuleIndex(anchors)


EXPORT_OK = {"sel": {"action": ["export", "download"], "result": "success"}, "condition": "sel"}
LOGIN = {"sel": {"action": "login"}, "condition": "sel"}


def test_an_and_needs_every_indexed_part() -> None:
    # Anchored on ``result: success`` alone, every successful event was a candidate.
    index = _index(EXPORT_OK, LOGIN)
    assert index.candidates({"action": "query", "result": "success"}) == ()
    assert index.candidates({"action": "export", "result": "denied"}) == ()
    assert index.candidates({"action": "EXPORT", "result": "success"}) == (0,)
    assert index.candidates({"action": "login", "result": "success"}) == (1,)


def test_or_unions_and_negation_is_always_tested() -> None:
    either = {"a": {"Image|endswith": "\\cmd.exe"}, "b": {"EventID": 4688}, "condition": "a or b"}
    negated = {"sel": {"user": "svc"}, "condition": "not sel"}
    index = _index(either, negated)
    assert index.candidates({"Image": "C:\\Windows\\CMD.EXE"}) == (0, 1)
    assert index.candidates({"EventID": 4688}) == (0, 1)
    assert index.candidates({"EventID": 1, "Image": "x"}) == (1,)


def test_a_list_value_hits_through_any_element() -> None:
    index = _index(EXPORT_OK, LOGIN)
    assert index.candidates({"action": ["query", "download"], "result": ["success"]}) == (0,)


def test_the_memo_by_field_values_answers_as_the_look_ups() -> None:
    # candidates() keeps its answer by the values of the indexed fields; whatever the event,
    # the answer must be the look-ups' own, asked twice so the second comes from the memo.
    numbered = {"sel": {"code": 1}, "condition": "sel"}
    sub = {"sel": {"dataset|contains": "honey_"}, "condition": "sel"}
    index = _index(EXPORT_OK, LOGIN, numbered, sub)
    events: list[dict[str, Any]] = [
        {"action": "export", "result": "success"}, {"action": "Export", "result": "success"},
        {"action": "login"}, {"action": None, "result": "success"}, {},
        {"action": ["login", "query"]}, {"action": {"x": 1}}, {"code": 1}, {"code": True},
        {"code": 1.0}, {"code": "1"}, {"dataset": "HONEY_rates"}, {"dataset": "rates"},
        {"action": "export", "result": "success", "dataset": "honey_x", "code": 1},
    ]
    for event in events * 2:
        assert index.candidates(event) == index._candidates(event), event
    assert index.candidates({"code": True}) == ()  # True is not the number 1
    assert index.candidates({"code": 1}) == (2,)
    assert index.candidates({"action": ["login", "query"]}) == (1,)


def test_verdicts_kept_by_index_values_match_every_predicate(tmp_path) -> None:
    # StreamingDetector keeps, per combination of the indexed fields' values, the verdict of the
    # rules reading nothing else; rules reading other fields, null/absent/list values and
    # keywords still run their predicates. Each answer must be what testing every rule gives.
    import itertools

    import yaml

    from soc.detection import RulePack, StreamingDetector

    def rule(n: int, detection: dict[str, Any]) -> dict[str, Any]:
        return {"title": f"r{n}", "id": f"00000000-0000-4000-8000-{n:012d}",
                "logsource": {"product": "shuwei"}, "detection": detection}

    rules = [rule(1, EXPORT_OK),  # reads action and result only
             rule(2, {"sel": {"action": "export", "rows|gt": 5}, "condition": "sel"}),
             rule(3, {"sel": {"action": "login"}, "ok": {"result": "success"},
                      "condition": "sel and not ok"}),
             rule(4, {"sel": {"action": "export", "result": None}, "condition": "sel"}),
             rule(5, {"sel": {"action": "login", "dataset|exists": True}, "condition": "sel"})]
    (tmp_path / "rules.yml").write_text(yaml.safe_dump_all(rules), encoding="utf-8")
    pack = RulePack.load(tmp_path / "rules.yml")
    assert pack.errors == []
    det = StreamingDetector(pack)
    preds = dict(zip(det._keys, det._preds))
    values = {"action": ["export", "EXPORT", "login", ["login"], None, 3],
              "result": ["success", "denied", None, "absent"],
              "rows": [10, 1, "absent"], "dataset": ["d1", None, "absent"]}
    for _ in range(2):  # learnt the first time round, kept the second
        for combo in itertools.product(*values.values()):
            event = {k: v for k, v in zip(values, combo) if v != "absent"}
            want = [k for k in det._keys if preds[k](event)]
            assert det.matching_rules(event) == want, event
    assert any(known for plans in det._plans.values() for plan in plans.values()
               for _, known in plan)  # some verdicts were kept
