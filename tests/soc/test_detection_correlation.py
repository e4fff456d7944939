"""Correlation types, group-by/aliases, sliding windows and the one-match-per-window rule,
each checked by hand and on both hunt backends."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
import json
from typing import Any

import yaml

from soc.detection import Match, RulePack, StreamingDetector, hunt

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=timezone.utc)

BASE = [
    {"title": "denied", "name": "denied", "id": "00000000-0000-4000-8000-0000000000a1",
     "logsource": {"product": "shuwei"},
     "detection": {"sel": {"action": "login", "result": "denied"}, "condition": "sel"}},
    {"title": "ok", "name": "ok", "id": "00000000-0000-4000-8000-0000000000a2",
     "logsource": {"product": "shuwei"},
     "detection": {"sel": {"action": "login", "result": "success"}, "condition": "sel"}},
    {"title": "grant", "name": "grant", "id": "00000000-0000-4000-8000-0000000000a3",
     "logsource": {"product": "shuwei"},
     "detection": {"sel": {"action": "permission_grant"}, "condition": "sel"}},
    {"title": "export", "name": "export", "id": "00000000-0000-4000-8000-0000000000a4",
     "logsource": {"product": "shuwei"},
     "detection": {"sel": {"action": "export"}, "condition": "sel"}},
]
CORR_ID = "00000000-0000-4000-8000-0000000000c1"


def ev(sec: float, action: str, user: str = "u1", result: str = "success", **kw: Any) -> dict:
    return {"ts": (T0 + timedelta(seconds=sec)).isoformat(), "user": user, "action": action,
            "result": result, **kw}


def run(tmp: Path, correlation: dict, events: list[dict], generate: bool = False) -> list[Match]:
    corr = {"title": "corr", "id": CORR_ID, "level": "high",
            "correlation": {**correlation, **({"generate": True} if generate else {})}}
    (tmp / "rules.yml").write_text(yaml.safe_dump_all([*BASE, corr]), encoding="utf-8")
    pack = RulePack.load(tmp / "rules.yml")
    assert pack.errors == [], pack.errors
    mem = hunt(pack, events, backend="memory")
    sql = hunt(pack, events, backend="sqlite")
    assert [m.to_hunt_json() for m in mem] == [m.to_hunt_json() for m in sql]
    return [m for m in mem if m.correlation]


def test_event_count_sliding_window_one_match_per_window(tmp_path: Path) -> None:
    # threshold 3 in 60 s. Events at 0,10,20 -> match at line 3 made of lines 1-3.
    # 30,40 fall in the suppressed window (<= 20+60). 100,110,120: the window at 120 is [60,120]
    # and holds 100,110,120 -> second match. A clock-bucketed 60 s count would split [50..69).
    times = [0, 10, 20, 30, 40, 100, 110, 120]
    events = [ev(t, "login", result="denied") for t in times]
    got = run(tmp_path, {"type": "event_count", "rules": ["denied"], "group-by": ["user"],
                         "timespan": "60s", "condition": {"gte": 3}}, events)
    assert [(m.line, m.lines, m.group) for m in got] == [
        (3, [1, 2, 3], {"user": "u1"}), (8, [6, 7, 8], {"user": "u1"})]
    assert got[0].first_seen == events[0]["ts"] and got[0].last_seen == events[2]["ts"]


def test_window_not_clock_aligned(tmp_path: Path) -> None:
    # 55 s and 65 s straddle a minute boundary: still one 60 s window.
    events = [ev(55, "login", result="denied"), ev(65, "login", result="denied")]
    got = run(tmp_path, {"type": "event_count", "rules": ["denied"], "group-by": ["user"],
                         "timespan": "1m", "condition": {"gte": 2}}, events)
    assert [m.lines for m in got] == [[1, 2]]


def test_group_by_separates_users(tmp_path: Path) -> None:
    events = [ev(i, "login", user=f"u{i % 2}", result="denied") for i in range(5)]
    got = run(tmp_path, {"type": "event_count", "rules": ["denied"], "group-by": ["user"],
                         "timespan": "5m", "condition": {"gte": 3}}, events)
    assert [(m.group, m.lines) for m in got] == [({"user": "u0"}, [1, 3, 5])]


def test_condition_operators_and_range(tmp_path: Path) -> None:
    events = [ev(i, "login", result="denied") for i in range(4)]
    corr = {"type": "event_count", "rules": ["denied"], "group-by": ["user"], "timespan": "5m"}
    assert [m.line for m in run(tmp_path, {**corr, "condition": {"eq": 2}}, events)] == [2]
    assert [m.line for m in run(tmp_path, {**corr, "condition": {"gt": 2}}, events)] == [3]
    assert [m.line for m in run(tmp_path, {**corr, "condition": {"lte": 1}}, events)] == [1]
    assert [m.line for m in run(tmp_path, {**corr, "condition": {"lt": 2}}, events)] == [1]
    assert [m.line for m in run(tmp_path, {**corr, "condition": {"neq": 1}}, events)] == [2]
    # range: 3 <= count <= 3 holds first at line 3
    assert [m.line for m in run(tmp_path, {**corr, "condition": {"gte": 3, "lte": 3}}, events)] == [3]
    assert run(tmp_path, {**corr, "condition": {"gte": 5, "lte": 9}}, events) == []


def test_value_count(tmp_path: Path) -> None:
    events = [ev(i, "login", src_ip=ip) for i, ip in enumerate(["1.1.1.1", "1.1.1.1", "2.2.2.2", "3.3.3.3"])]
    got = run(tmp_path, {"type": "value_count", "rules": ["ok"], "group-by": ["user"], "timespan": "5m",
                         "condition": {"gte": 3, "field": "src_ip"}}, events)
    assert [(m.line, m.lines) for m in got] == [(4, [1, 2, 3, 4])]


def test_value_sum_and_avg(tmp_path: Path) -> None:
    events = [ev(0, "export", rows=400), ev(10, "export", rows=700), ev(20, "export", rows="9999"),
              ev(30, "export", rows=100)]
    got = run(tmp_path, {"type": "value_sum", "rules": ["export"], "group-by": ["user"],
                         "timespan": "5m", "condition": {"gte": 1100, "field": "rows"}}, events)
    assert [m.line for m in got] == [2]  # 400+700; the string "9999" is not a number
    got = run(tmp_path, {"type": "value_avg", "rules": ["export"], "group-by": ["user"],
                         "timespan": "5m", "condition": {"gt": 500, "field": "rows"}}, events)
    assert [m.line for m in got] == [2]  # avg(400,700)=550


def test_temporal_any_order_and_extended_condition(tmp_path: Path) -> None:
    events = [ev(0, "export"), ev(30, "permission_grant"), ev(40, "permission_grant", user="u2")]
    got = run(tmp_path, {"type": "temporal", "rules": ["grant", "export"], "group-by": ["user"],
                         "timespan": "1m"}, events)
    assert [(m.line, m.lines) for m in got] == [(2, [1, 2])]
    got = run(tmp_path, {"type": "temporal", "group-by": ["user"], "timespan": "1m",
                         "condition": "grant and not export"}, events)
    assert [(m.line, m.group) for m in got] == [(3, {"user": "u2"})]


def test_temporal_ordered_with_aliases(tmp_path: Path) -> None:
    corr = {"type": "temporal_ordered", "rules": ["grant", "export"], "group-by": ["account"],
            "timespan": "1h", "aliases": {"account": {"grant": "target_user", "export": "user"}}}
    right = [ev(0, "permission_grant", user="admin", target_user="u9"), ev(60, "export", user="u9")]
    wrong_order = [ev(0, "export", user="u9"), ev(60, "permission_grant", user="admin", target_user="u9")]
    other = [ev(0, "permission_grant", user="admin", target_user="u9"), ev(60, "export", user="u8")]
    assert [(m.group, m.lines) for m in run(tmp_path, corr, right)] == [({"account": "u9"}, [1, 2])]
    assert run(tmp_path, corr, wrong_order) == []
    assert run(tmp_path, corr, other) == []


def test_generate_controls_base_rule_output(tmp_path: Path) -> None:
    events = [ev(0, "login", result="denied")]
    corr = {"type": "event_count", "rules": ["denied"], "group-by": ["user"], "timespan": "5m",
            "condition": {"gte": 5}}
    (tmp_path / "r.yml").write_text(yaml.safe_dump_all(
        [*BASE, {"title": "c", "id": CORR_ID, "correlation": corr}]), encoding="utf-8")
    assert list(hunt(RulePack.load(tmp_path / "r.yml"), events)) == []
    (tmp_path / "r.yml").write_text(yaml.safe_dump_all(
        [*BASE, {"title": "c", "id": CORR_ID, "correlation": {**corr, "generate": True}}]), encoding="utf-8")
    assert [m.rule_id for m in hunt(RulePack.load(tmp_path / "r.yml"), events)] == [BASE[0]["id"]]


def test_streaming_emits_at_the_closing_event(tmp_path: Path) -> None:
    corr = {"title": "c", "id": CORR_ID, "correlation": {
        "type": "event_count", "rules": ["denied"], "group-by": ["user"], "timespan": "5m",
        "condition": {"gte": 2}}}
    (tmp_path / "r.yml").write_text(yaml.safe_dump_all([*BASE, corr]), encoding="utf-8")
    det = StreamingDetector(RulePack.load(tmp_path / "r.yml"))
    assert det.process(ev(0, "login", result="denied", event_id="a"), 1) == []
    (m,) = det.process(ev(5, "login", result="denied", event_id="b"), 2)
    assert m.correlation and m.event_ids == ["a", "b"] and m.lines == [1, 2] and m.event_id == "b"


def test_late_event_outside_window_is_ignored(tmp_path: Path) -> None:
    events = [ev(600, "login", result="denied"), ev(0, "login", result="denied"),
              ev(601, "login", result="denied")]
    got = run(tmp_path, {"type": "event_count", "rules": ["denied"], "group-by": ["user"],
                         "timespan": "5m", "condition": {"gte": 2}}, events)
    assert [m.lines for m in got] == [[1, 3]]


def test_events_without_time_are_not_correlated(tmp_path: Path) -> None:
    events = [{"action": "login", "result": "denied", "user": "u1"}] * 3
    got = run(tmp_path, {"type": "event_count", "rules": ["denied"], "group-by": ["user"],
                         "timespan": "5m", "condition": {"gte": 2}}, events)
    assert got == []


def test_hunt_pruning_skips_only_groups_that_cannot_fire(tmp_path: Path) -> None:
    """The sqlite hunt does not feed groups whose whole-table total misses the threshold."""
    import sqlite3

    from soc.detection.hunt import _sqlite_hunt, HuntResult
    from soc.detection.prune import live_rows
    from soc.detection.sqlbackend import jsonl_layout, register_functions
    from soc.detection.streaming import MatchAssembler

    corr = {"title": "c", "id": CORR_ID, "correlation": {
        "type": "value_count", "rules": ["ok"], "group-by": ["user"], "timespan": "1m",
        "condition": {"gte": 2, "field": "src_ip"}}}
    (tmp_path / "r.yml").write_text(yaml.safe_dump_all([*BASE, corr]), encoding="utf-8")
    pack = RulePack.load(tmp_path / "r.yml")
    events = [ev(0, "login", user="a", src_ip="1.1.1.1"), ev(1, "login", user="a", src_ip="1.1.1.1"),
              ev(2, "login", user="b", src_ip="1.1.1.1"), ev(900, "login", user="b", src_ip="2.2.2.2")]
    conn = sqlite3.connect(":memory:")
    register_functions(conn)
    conn.execute("CREATE TABLE hunt_events (line INTEGER PRIMARY KEY, doc TEXT NOT NULL)")
    conn.executemany("INSERT INTO hunt_events VALUES (?, ?)",
                     [(i, json.dumps(e)) for i, e in enumerate(events, 1)])
    engine = MatchAssembler(pack).engine
    # user a has one distinct address in total: dead; user b has two (in separate windows): live
    assert live_rows(conn, jsonl_layout("hunt_events"), engine.correlations[0],
                     {BASE[1]["id"]: {1, 2, 3, 4}}) == {3, 4}
    res = HuntResult()
    _sqlite_hunt(pack, conn, jsonl_layout("hunt_events"), None, res, None)
    assert list(res) == [] and res.errors == []  # b's addresses are 15 minutes apart


def test_correlation_over_a_correlation(tmp_path: Path) -> None:
    """'Several denials, then a success': event_count feeding temporal_ordered; the lower
    correlation is hidden (generate is false) and its events appear in the upper match, with
    every other event of the window (the earlier success on line 1)."""
    burst = {"title": "burst", "name": "burst", "id": "00000000-0000-4000-8000-0000000000c2",
             "correlation": {"type": "event_count", "rules": ["denied"], "group-by": ["user"],
                             "timespan": "10m", "condition": {"gte": 3}}}
    upper = {"title": "then ok", "id": CORR_ID, "correlation": {
        "type": "temporal_ordered", "rules": ["burst", "ok"], "group-by": ["user"], "timespan": "10m"}}
    (tmp_path / "r.yml").write_text(yaml.safe_dump_all([*BASE, upper, burst]), encoding="utf-8")
    pack = RulePack.load(tmp_path / "r.yml")
    assert pack.errors == []
    events = [ev(0, "login"), ev(10, "login", result="denied"), ev(20, "login", result="denied"),
              ev(30, "login", result="denied"), ev(40, "login"), ev(50, "login", user="u2")]
    got = [(m.rule_id, m.lines, m.line) for m in hunt(pack, events)]
    assert got == [(CORR_ID, [1, 2, 3, 4, 5], 5)]
    assert [m.to_hunt_json() for m in hunt(pack, events, backend="sqlite")] == \
        [m.to_hunt_json() for m in hunt(pack, events)]
    # success before the burst: no sequence
    assert list(hunt(pack, [events[0], *events[1:4]])) == []


def test_correlation_cycle_is_a_load_error(tmp_path: Path) -> None:
    a = {"title": "a", "name": "a", "id": "00000000-0000-4000-8000-0000000000d1",
         "correlation": {"type": "temporal", "rules": ["b", "denied"], "timespan": "1m"}}
    b = {"title": "b", "name": "b", "id": "00000000-0000-4000-8000-0000000000d2",
         "correlation": {"type": "temporal", "rules": ["a", "denied"], "timespan": "1m"}}
    (tmp_path / "r.yml").write_text(yaml.safe_dump_all([*BASE, a, b]), encoding="utf-8")
    pack = RulePack.load(tmp_path / "r.yml")
    assert pack.correlations == [] and len(pack.errors) == 2
    assert any("cycle" in e.reason for e in pack.errors)


def test_temporal_ordered_with_repeated_rule(tmp_path: Path) -> None:
    """[denied, denied, ok]: two distinct denied events must precede the success."""
    corr = {"type": "temporal_ordered", "rules": ["denied", "denied", "ok"], "group-by": ["user"],
            "timespan": "10m"}
    one = [ev(0, "login", result="denied"), ev(10, "login")]
    two = [ev(0, "login", result="denied"), ev(5, "login", result="denied"), ev(10, "login")]
    assert run(tmp_path, corr, one) == []
    assert [m.lines for m in run(tmp_path, corr, two)] == [[1, 2, 3]]


def test_hunt_pruning_bounds_for_avg_and_ordered(tmp_path: Path) -> None:
    import sqlite3

    from soc.detection.prune import live_rows
    from soc.detection.sqlbackend import jsonl_layout
    from soc.detection.streaming import MatchAssembler

    events = [ev(0, "export", user="a", rows=10), ev(1, "export", user="b", rows=900),
              ev(2, "login", user="a", result="denied"), ev(3, "login", user="a"),
              ev(4, "login", user="b")]
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (line INTEGER PRIMARY KEY, doc TEXT NOT NULL)")
    conn.executemany("INSERT INTO t VALUES (?, ?)", [(i, json.dumps(e)) for i, e in enumerate(events, 1)])
    rows = {BASE[3]["id"]: {1, 2}, BASE[0]["id"]: {3}, BASE[1]["id"]: {4, 5}}
    for correlation, live in [
        ({"type": "value_avg", "rules": ["export"], "group-by": ["user"], "timespan": "1h",
          "condition": {"gt": 500, "field": "rows"}}, {2}),          # a's maximum is 10
        ({"type": "temporal_ordered", "rules": ["denied", "ok"], "group-by": ["user"],
          "timespan": "1h"}, {3, 4}),                                  # b has no denial
    ]:
        corr = {"title": "c", "id": CORR_ID, "correlation": correlation}
        (tmp_path / "r.yml").write_text(yaml.safe_dump_all([*BASE, corr]), encoding="utf-8")
        engine = MatchAssembler(RulePack.load(tmp_path / "r.yml")).engine
        assert live_rows(conn, jsonl_layout("t"), engine.correlations[0], rows) == live
