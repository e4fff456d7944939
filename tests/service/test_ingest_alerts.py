"""Audit events in (array and NDJSON, per-event rejections, limits) → alerts out, then triage."""

from __future__ import annotations

import json
import uuid

from tests.service.conftest import Live
from tests.service.test_basics import assert_error


def event(**kw: object) -> dict:
    base = {"ts": "2026-03-02T10:15:02+08:00", "event_id": f"t-{uuid.uuid4().hex}", "source": "exchange-gateway",
            "user": "u7001", "action": "query", "result": "success", "dataset": "pop_basic", "rows": 3}
    base.update(kw)
    return base


def test_ingest_array_with_rejections_and_duplicates(live: Live) -> None:
    good = event()
    batch = [good, {"event_id": "x"}, event(rows=-1), "not an object"]
    with live.client("exchange_platform") as c:
        r = c.post("/v1/audit/events", json=batch)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["accepted"] == 1 and body["duplicates"] == 0
        assert [x["index"] for x in body["rejected"]] == [1, 2, 3]
        assert body["rejected"][1]["field"] == "rows"
        again = c.post("/v1/audit/events", json=[good]).json()
        assert again["accepted"] == 0 and again["duplicates"] == 1


def test_ingest_ndjson_names_bad_lines(live: Live) -> None:
    lines = [json.dumps(event()), "{broken", json.dumps(event(user=None))]
    with live.client("soc_analyst") as c:
        r = c.post("/v1/audit/events", content="\n".join(lines).encode(),
                   headers={"content-type": "application/x-ndjson"})
        body = r.json()
        assert r.status_code == 200 and body["accepted"] == 1
        assert [(x["index"], x["field"]) for x in body["rejected"]] == [(1, None), (2, "user")]
        assert_error(c.post("/v1/audit/events", content=b"a,b", headers={"content-type": "text/csv"}), 415)
        assert_error(c.post("/v1/audit/events", content=b"{", headers={"content-type": "application/json"}), 400)


def test_ingest_limits(live: Live) -> None:
    with live.client("admin") as c:
        err = assert_error(c.post("/v1/audit/events", json=[{"a": 1}] * 10_001), 413)
        assert "10000" in err["message"] or "10,000" in err["message"]
        huge = json.dumps([event(extra={"pad": "x" * 1_000_000}) for _ in range(11)])
        assert_error(c.post("/v1/audit/events", content=huge, headers={"content-type": "application/json"}), 413)
        ok = c.post("/v1/audit/events", json=[event() for _ in range(10_000)])
        assert ok.status_code == 200 and ok.json()["accepted"] == 10_000


def test_ingest_raises_alert_then_triage(live: Live) -> None:
    user = f"u{uuid.uuid4().hex[:6]}"
    with live.client("exchange_platform") as c:
        r = c.post("/v1/audit/events", json=[event(user=user, action="export", rows=50,
                                                                dest="someone@example.com")])
        assert r.status_code == 200 and r.json()["alerts"], r.text
    with live.client("soc_analyst") as c:
        page = c.get("/v1/alerts", params={"user": user}).json()
        assert page["total"] >= 1
        # a playbook may already have assigned (in_progress) one of the alerts of this batch: triage a new one
        alert = next(a for a in page["items"] if "@" not in a["rule_title"] and a["rule_id"]
                     and "pop_basic" in a["datasets"] and a["status"] == "new")
        assert user in alert["users"] and "pop_basic" in alert["datasets"]
        assert c.get("/v1/alerts", params={"user": user, "status": "resolved"}).json()["total"] == 0
        assert c.get("/v1/alerts", params={"user": user, "severity": alert["severity"]}).json()["total"] >= 1
        assert c.get("/v1/alerts", params={"user": user, "since": "2030-01-01T00:00:00+08:00"}).json()["total"] == 0
        assert c.get("/v1/alerts", params={"user": user, "dataset": "other"}).json()["total"] == 0
        assert len(c.get("/v1/alerts", params={"limit": 1}).json()["items"]) == 1
        assert_error(c.get("/v1/alerts", params={"status": "bogus"}), 400)
        assert_error(c.get("/v1/alerts", params={"since": "2030-01-01T00:00:00"}), 400)
        aid = alert["id"]
        assert c.get(f"/v1/alerts/{aid}").json()["id"] == aid
        r = c.patch(f"/v1/alerts/{aid}", json={"assignee": "analyst-li", "notes": "checking with the owner"})
        assert r.status_code == 200, r.text
        got = r.json()
        assert got["status"] == "in_progress" and got["assignee"] == "analyst-li"
        assert got["notes"][-1]["text"] == "checking with the owner"
        assert c.patch(f"/v1/alerts/{aid}", json={"status": "resolved"}).json()["status"] == "resolved"
        assert_error(c.patch(f"/v1/alerts/{aid}", json={"status": "acknowledged"}), 409)
        assert_error(c.patch(f"/v1/alerts/{aid}", json={}), 400)
        assert_error(c.get("/v1/alerts/alert-nope"), 404)
    with live.client("compliance_officer") as c:
        assert_error(c.patch(f"/v1/alerts/{aid}", json={"notes": "x"}), 403)
    with live.client() as c:
        text = c.get("/metrics").text
        assert 'shuwei_alerts{status="resolved"}' in text
        assert 'shuwei_events_ingested_total{outcome="accepted"}' in text
