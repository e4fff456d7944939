"""``/v1/approvals`` and the release ledger over real HTTP: request, self-approval refused, owner
approval granting in clear through ``/v1/mask``, revoke stopping it at once, audit events in soc.db."""

from __future__ import annotations

import json
import re
import sqlite3

from tests.service.conftest import Live

REQUEST = {"dataset": "pop_basic", "fields": ["出生日期"], "purpose": "出生缺陷研究",
           "consumer": {"org": "市卫健委", "role": "researcher", "user": None},
           "valid_from": "2026-01-01", "valid_until": "2099-05-31"}
RECORD = {"姓名": "张三", "出生日期": "1949-12-31", "联系电话": "13812345678"}


def _events(live: Live, approval_id: str) -> list[tuple[str, str, str | None]]:
    with sqlite3.connect(live.server.data_dir / "soc.db") as db:
        docs = [json.loads(r[0]) for r in db.execute("SELECT doc FROM events WHERE action LIKE 'share_%'")]
    return [(d["action"], d["result"], (d.get("extra") or {}).get("operation")) for d in docs
            if d.get("approval_id") == approval_id]


def _mask(live: Live, approval_id: str) -> tuple[str, str]:
    caller = {"user": "u3", "role": "researcher", "org": "市卫健委", "purpose": "出生缺陷研究",
              "approval_id": approval_id}
    with live.client("exchange_platform") as c:
        r = c.post("/v1/mask", json={"dataset": "pop_basic", "caller": caller, "records": [RECORD]})
    assert r.status_code == 200, r.text
    return r.json()["records"][0]["出生日期"], r.headers["x-release-id"]


def test_request_approve_mask_revoke(live: Live) -> None:
    with live.client("admin") as c:
        r = c.post("/v1/approvals", json=REQUEST)
        assert r.status_code == 201, r.text
        approval = r.json()
        aid = approval["approval_id"]
        assert re.fullmatch(r"AP-\d{4}-\d{4}", aid) and approval["state"] == "pending"
        assert approval["requested_by"] == "admin-key"
        self_ = c.post(f"/v1/approvals/{aid}/decision", json={"operation": "approve"})
        assert self_.status_code == 403 and self_.json()["error"]["code"] == "self_approval"
        assert c.get(f"/v1/approvals/{aid}").json()["state"] == "pending"
    assert _mask(live, aid)[0] != "1949-12-31"
    with live.client("owner_pop") as c:
        ok = c.post(f"/v1/approvals/{aid}/decision", json={"operation": "approve", "comment": "按协议"})
        assert ok.status_code == 200, ok.text
        assert ok.json()["state"] == "approved" and ok.json()["decided_by"] == "owner-pop"
        assert c.post(f"/v1/approvals/{aid}/decision", json={"operation": "reject"}).status_code == 409
        listed = c.get("/v1/approvals", params={"dataset": "pop_basic", "state": "approved"}).json()["items"]
        assert aid in [a["approval_id"] for a in listed]
    clear, release_id = _mask(live, aid)
    assert clear == "1949-12-31" and re.fullmatch(r"rel-[0-9a-f]{16}", release_id)
    with live.client("owner_pop") as c:
        assert c.post(f"/v1/approvals/{aid}/decision", json={"operation": "revoke"}).json()["state"] == "revoked"
    assert _mask(live, aid)[0] != "1949-12-31"  # the revoke takes effect on the very next call
    with sqlite3.connect(live.server.data_dir / "share.db") as db:
        row = db.execute("SELECT approval_id, rows, fields FROM releases WHERE release_id = ?", (release_id,)).fetchone()
    assert row[0] == aid and row[1] == 1 and json.loads(row[2])["出生日期"] == "keep"
    events = _events(live, aid)
    assert ("share_request", "success", None) in events
    assert ("share_approve", "denied", "approve") in events
    assert ("share_approve", "success", "approve") in events and ("share_approve", "success", "revoke") in events


def test_owner_of_another_dataset_cannot_decide(live: Live) -> None:
    with live.client("exchange_platform") as c:
        aid = c.post("/v1/approvals", json={**REQUEST, "dataset": "tax_records"}).json()["approval_id"]
    with live.client("owner_pop") as c:
        r = c.post(f"/v1/approvals/{aid}/decision", json={"operation": "approve"})
        assert r.status_code == 403
        assert aid not in [a["approval_id"] for a in c.get("/v1/approvals").json()["items"]]


def test_bad_requests(live: Live) -> None:
    with live.client("exchange_platform") as c:
        past = c.post("/v1/approvals", json={**REQUEST, "valid_from": "2020-01-01", "valid_until": "2020-02-01"})
        assert past.status_code == 422 and "already past" in past.json()["error"]["message"]
        assert c.post("/v1/approvals", json={**REQUEST, "fields": []}).status_code == 400
        assert c.get("/v1/approvals/AP-1999-0001").status_code == 404
