"""Alerts: grouping by rule and group within the window, severity, lifecycle with history."""

from __future__ import annotations

import pytest

from soc.alerts import AlertError, severity_for
from soc.ingest import IngestPipeline
from tests.soc.pipeline_helpers import PEOPLE, RULE_BULK, RULE_CANARY, event, grade, use_rules

CONTRACT_KEYS = {"id", "rule_id", "rule_title", "severity", "status", "first_seen", "last_seen",
                 "count", "group", "users", "datasets", "event_ids", "assignee", "notes",
                 "playbook_runs"}


@pytest.fixture()
def pipe(settings, tmp_path, monkeypatch):
    s = use_rules(tmp_path, monkeypatch, RULE_BULK, RULE_CANARY, alert_window_minutes="30")
    grade(s, "pop_basic", PEOPLE)
    p = IngestPipeline.from_settings(s)
    yield p
    p.close()


def export(n, minute, user="u1", **kw):
    return event(n, ts=f"2026-03-02T10:{minute:02d}:00+08:00", action="export", rows=5000,
                 user=user, **kw)


def test_matches_group_by_rule_and_user_within_window(pipe):
    pipe.ingest([export(1, 0), export(2, 10, dataset="d1"), export(3, 20, user="u2"),
                 export(4, 25, dataset="d2")], origin="api")
    alerts = {tuple(a["users"]): a for a in pipe.alerts.list()}
    assert set(alerts) == {("u1",), ("u2",)}
    a = alerts[("u1",)]
    assert set(a) >= CONTRACT_KEYS
    assert a["count"] == 3 and a["group"] == {"user": "u1"}
    assert a["event_ids"] == ["t-000001", "t-000002", "t-000004"]
    assert a["datasets"] == ["d1", "d2"]
    assert a["first_seen"] == "2026-03-02T10:00:00+08:00" and a["last_seen"] == "2026-03-02T10:25:00+08:00"
    assert a["status"] == "new" and a["severity"] == "medium" and a["rule_title"] == "Bulk export (test)"
    assert a["assignee"] is None and a["notes"] == [] and a["playbook_runs"] == []


def test_a_match_after_the_window_opens_a_new_alert(pipe):
    pipe.ingest([export(1, 0)], origin="api")
    pipe.ingest([event(2, ts="2026-03-02T11:05:00+08:00", action="export", rows=5000)], origin="api")
    assert [a["count"] for a in pipe.alerts.list()] == [1, 1]


def test_closed_alerts_are_not_reopened_by_new_matches(pipe):
    (a,) = pipe.ingest([export(1, 0)], origin="api").alerts
    pipe.alerts.resolve(a["id"], "analyst")
    res = pipe.ingest([export(2, 5)], origin="api")
    assert res.alerts[0]["id"] != a["id"] and len(pipe.alerts.list()) == 2


def test_event_ids_capped_at_100_count_is_not(pipe):
    pipe.ingest([event(i, ts=f"2026-03-02T10:{i % 30:02d}:{i // 30:02d}+08:00", action="export",
                       rows=2000) for i in range(150)], origin="api")
    (a,) = pipe.alerts.list()
    assert a["count"] == 150 and len(a["event_ids"]) == 100


def test_severity_raised_one_step_by_l4_data(pipe):
    (a,) = pipe.ingest([export(1, 0, dataset="pop_basic", fields=["公民身份号码"])], origin="api").alerts
    assert a["severity"] == "high"
    (b,) = pipe.ingest([export(2, 0, user="u3", dataset="pop_basic", fields=["姓名"])], origin="api").alerts
    assert b["severity"] == "medium"  # L3 leaves the rule's level
    (c,) = pipe.ingest([event(3, dataset="canary_x")], origin="api").alerts
    assert c["severity"] == "high"
    assert severity_for("critical", "L4") == "critical"
    assert severity_for("informational", "L4") == "low"


def test_lifecycle_with_history(pipe):
    (a,) = pipe.ingest([export(1, 0)], origin="api").alerts
    m = pipe.alerts
    m.acknowledge(a["id"], "alice")
    m.note(a["id"], "calling the data owner", "alice")
    m.assign(a["id"], "bob", "alice")
    done = m.resolve(a["id"], "bob")
    assert done["status"] == "resolved" and done["assignee"] == "bob"
    assert done["notes"][0]["text"] == "calling the data owner" and done["notes"][0]["by"] == "alice"
    changes = [(h["change"], h.get("from"), h.get("to"), h["by"]) for h in done["history"]]
    assert changes == [("created", None, "new", "shuwei"),
                       ("status", "new", "acknowledged", "alice"),
                       ("note", None, "calling the data owner", "alice"),
                       ("assignee", None, "bob", "alice"),
                       ("status", "in_progress", "resolved", "bob")]
    assert done["history"][3]["status"] == {"from": "acknowledged", "to": "in_progress"}
    assert pipe.alerts.get(a["id"]) == done  # persisted


def test_forbidden_transitions(pipe):
    (a,) = pipe.ingest([export(1, 0)], origin="api").alerts
    m = pipe.alerts
    m.resolve(a["id"], "x", false_positive=True)
    with pytest.raises(AlertError, match="false_positive; it cannot become acknowledged"):
        m.acknowledge(a["id"], "x")
    with pytest.raises(AlertError, match="cannot be assigned"):
        m.assign(a["id"], "bob", "x")
    with pytest.raises(AlertError, match="no alert"):
        m.acknowledge("alert-missing", "x")
    with pytest.raises(AlertError, match="unknown status"):
        m.list(status="open")


def test_list_filters_and_limit(pipe):
    pipe.ingest([export(i, i, user=f"u{i}") for i in range(1, 6)], origin="api")
    first = pipe.alerts.list()[0]
    pipe.alerts.acknowledge(first["id"], "x")
    assert len(pipe.alerts.list()) == 5
    assert len(pipe.alerts.list(limit=2)) == 2
    assert [a["id"] for a in pipe.alerts.list(status="acknowledged")] == [first["id"]]
    assert first["users"] == ["u5"]  # newest first
