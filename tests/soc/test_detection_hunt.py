"""Streaming/hunt parity over the whole pack, the stored-events hunt, and load errors."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from soc.detection import RulePack, StreamingDetector, hunt
from soc.detection.hunt import HuntInputError
from soc.store.sqlite import SqliteEventStore
from soc.traffic import generate

PACK = Path(__file__).resolve().parents[2] / "policies" / "sigma"
FIXTURES = sorted((PACK / "tests").glob("*.json"))


def _traffic(n: int) -> list[dict[str, Any]]:
    """Generated exchange traffic with attack scenarios, plus the pack's own fixture events,
    with an enrichment stand-in (the pipeline's enrichment is tested by its owner)."""
    import json

    r = random.Random(3)
    events = generate(n, history_days=0).day
    for e in events:
        e["data_level"] = r.choice(["L1", "L2", "L3", "L4"])
        e["off_hours"] = r.random() < 0.1
    shift = 0
    for path in FIXTURES:  # every rule's cases, each two days later so windows cannot mix
        for kind in ("match", "no_match"):
            for case in json.loads(path.read_text(encoding="utf-8"))[kind]:
                shift += 2
                for e in case:
                    ts = datetime.fromisoformat(e["ts"]) + timedelta(days=shift)
                    events.append({**e, "ts": ts.isoformat(), "event_id": f"fx-{len(events)}"})
    return events


@pytest.fixture(scope="module")
def pack() -> RulePack:
    return RulePack.load(PACK)


@pytest.fixture(scope="module")
def traffic() -> list[dict[str, Any]]:
    return _traffic(6000)


def _shape(matches: list) -> list[dict]:
    return [m.to_hunt_json() for m in matches]


def test_streaming_and_sqlite_hunt_agree_on_the_whole_pack(pack: RulePack, traffic: list) -> None:
    det = StreamingDetector(pack)
    streamed = [m for i, e in enumerate(traffic, 1) for m in det.process(e, i)]
    memory = hunt(pack, traffic, backend="memory")
    sqlite = hunt(pack, traffic, backend="sqlite")
    assert memory.errors == [] and sqlite.errors == []
    assert _shape(streamed) == _shape(memory) == _shape(sqlite)
    fired = {m.rule_id for m in memory}
    # every output rule of the pack fires at least once on fixtures + traffic
    outputs = {k for k, r in pack.by_key().items() if getattr(r, "_output", True)}
    assert outputs <= fired, outputs - fired
    assert sum(m.correlation for m in memory) >= 10


def test_stored_events_hunt_both_backends(pack: RulePack, traffic: list, tmp_path: Path) -> None:
    store = SqliteEventStore(tmp_path / "soc.db")
    store.append(traffic[:3000])
    assert _shape(hunt(pack, store, backend="sqlite")) == _shape(hunt(pack, traffic[:3000]))
    store.close()
    memory = hunt(pack, tmp_path / "soc.db", backend="memory")
    sqlite = hunt(pack, tmp_path / "soc.db", backend="sqlite")
    assert len(memory) > 0
    assert _shape(memory) == _shape(sqlite)
    # line is the arrival seq: same matches as hunting the list itself
    assert _shape(memory) == _shape(hunt(pack, traffic[:3000]))


def test_jsonl_file_lines_are_one_based_and_bad_lines_reported(pack: RulePack, tmp_path: Path) -> None:
    f = tmp_path / "e.jsonl"
    f.write_text('\n{"action": "query", "dataset": "canary_x"}\nnot json\n[1]\n'
                 '{"action": "query", "dataset": "honey_y", "event_id": "e9"}\n', encoding="utf-8")
    for backend in ("memory", "sqlite"):
        res = hunt(pack, f, backend=backend)
        assert [(m.line, m.event_id) for m in res] == [(2, None), (5, "e9")]
        assert [e.split(": ", 1)[0] for e in res.input_errors] == [f"{f}:3", f"{f}:4"]
    with pytest.raises(HuntInputError):
        hunt(pack, tmp_path / "missing.jsonl")


def _rule(rid: str, detection: Any, **kw: Any) -> dict:
    return {"title": f"r{rid}", "id": f"00000000-0000-4000-8000-{int(rid):012d}",
            "logsource": {"product": "shuwei"}, "detection": detection, **kw}


def test_load_errors_are_collected_per_rule(tmp_path: Path) -> None:
    good = _rule("1", {"sel": {"action": "login"}, "condition": "sel"}, name="good")
    (tmp_path / "good.yml").write_text(yaml.safe_dump(good), encoding="utf-8")
    (tmp_path / "broken.yml").write_text("title: x\ndetection: [unclosed\n", encoding="utf-8")
    docs = [
        _rule("2", {"sel": {"action|nosuchmod": "x"}, "condition": "sel"}),
        _rule("3", {"sel": {"q|re": "(?<=x)y"}, "condition": "sel"}),
        _rule("4", {"sel": {"action": "x"}, "condition": "sel and missing"}),
        {"title": "c5", "id": "00000000-0000-4000-8000-000000000005",
         "correlation": {"type": "event_count", "rules": ["nope"], "timespan": "5m",
                         "condition": {"gte": 2}}},
        {"title": "c6", "id": "00000000-0000-4000-8000-000000000006",
         "correlation": {"type": "value_percentile", "rules": ["good"], "timespan": "5m",
                         "condition": {"gte": 2, "field": "rows"}}},
        _rule("1", {"sel": {"action": "dup"}, "condition": "sel"}),
        _rule("7", {"sel": {"dest|expand": "%gov%"}, "condition": "sel"}),
    ]
    (tmp_path / "multi.yml").write_text(yaml.safe_dump_all(docs), encoding="utf-8")
    pack = RulePack.load(tmp_path)
    reasons = {(Path(e.path).name, (e.rule_id or "")[-2:]): e.reason for e in pack.errors}
    assert "invalid YAML" in reasons[("broken.yml", "")]
    assert "nosuchmod" in reasons[("multi.yml", "02")]
    assert "RE2" in reasons[("multi.yml", "03")]  # look-behind: refused, never backtracked
    assert "missing" in reasons[("multi.yml", "04")]
    assert "nope" in reasons[("multi.yml", "05")]
    assert "percentile" in reasons[("multi.yml", "06")]
    assert "duplicate rule id" in reasons[("multi.yml", "01")]
    assert [r.title for r in pack.rules] == ["r1", "r7"]  # the placeholder rule loads...
    det = StreamingDetector(pack, placeholders={})
    assert ["%gov%" in e.reason for e in det.errors] == [True]  # ...but needs configuration
    assert StreamingDetector(pack, placeholders={"gov": ["a.gov.cn"]}).errors == []
    assert RulePack.load(tmp_path / "absent").errors[0].reason == "no such file or directory"
