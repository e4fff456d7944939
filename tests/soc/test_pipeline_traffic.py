"""The traffic generator behind the demo and bench/soc: valid, repeatable, scenarios recorded."""

from __future__ import annotations

from soc.traffic import generate, score
from soc.validate import validate_event


def test_generated_traffic_is_contract_valid_and_repeatable():
    a, b = generate(3000, seed=5), generate(3000, seed=5)
    assert a.day == b.day and a.history == b.history
    for e in a.history + a.day:
        validate_event(e)
    assert [e["ts"] for e in a.day] == sorted(e["ts"] for e in a.day)
    ids = [e["event_id"] for e in a.history + a.day]
    assert len(ids) == len(set(ids))
    assert len(a.scenarios) == 14 and all(sc.event_ids for sc in a.scenarios)
    assert generate(3000, seed=6).day != a.day


def test_score_counts_detected_scenarios_and_benign_alerts():
    t = generate(2000, seed=1)
    sc = t.scenarios[0]
    alerts = [{"rule_title": "R", "users": sc.users, "event_ids": sc.event_ids[:1]},
              {"rule_title": "Noise", "users": ["u00001"], "event_ids": ["x"]}]
    report = score(t, alerts)
    assert report["detected"] == 1 and report["injected"] == 14
    assert report["benign_alerts"] == 1 and report["benign_by_rule"] == {"Noise": 1}
