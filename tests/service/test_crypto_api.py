"""Encrypt/decrypt and tokenize/detokenize round trips, grants, and the self-audit they trigger."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import httpx
import pytest

from tests.service.conftest import Live, admin_keyring, write_config
from tests.service.live import LiveServer
from tests.service.test_basics import assert_error

PHONES = ["13812345678", "15900001111"]


def key_ids(live: Live) -> set[str]:
    doc = json.loads((live.server.data_dir / "keyring.json").read_text(encoding="utf-8"))
    return set(doc["keys"])


def call_events(live: Live, request_id: str) -> list[dict]:
    with sqlite3.connect(live.server.data_dir / "soc.db") as db:
        docs = [json.loads(r[0]) for r in db.execute("SELECT doc FROM events").fetchall()]
    return [d for d in docs if (d.get("extra") or {}).get("request_id") == request_id]


pytestmark = pytest.mark.usefixtures("default_keys")


def test_encrypt_decrypt_round_trip_bound_to_field(live: Live) -> None:
    with live.client("exchange_platform") as c:
        r = c.post("/v1/encrypt", json={"dataset": "pop_basic", "field": "联系电话", "values": PHONES})
        assert r.status_code == 200, r.text
        cts = r.json()["values"]
        assert all(ct.startswith("sw1:SM4-GCM:") for ct in cts) and cts[0] != PHONES[0]
        assert_error(c.post("/v1/decrypt", json={"dataset": "pop_basic", "field": "联系电话", "values": cts}), 403)
    with live.client("platform_granted") as c:
        r = c.post("/v1/decrypt", json={"dataset": "pop_basic", "field": "联系电话", "values": cts,
                                        "purpose": "核查", "approval_id": "AP-1"})
        assert r.status_code == 200 and r.json()["values"] == PHONES
        err = assert_error(c.post("/v1/decrypt", json={"dataset": "pop_basic", "field": "姓名", "values": cts}), 422)
        assert err["field"] == "values[0]"
        tampered = cts[0][:-3] + ("AAA" if not cts[0].endswith("AAA") else "BBB")
        assert_error(c.post("/v1/decrypt", json={"dataset": "pop_basic", "field": "联系电话", "values": [tampered]}),
                     422)


def test_tokenize_keeps_format_and_reverses(live: Live) -> None:
    with live.client("exchange_platform") as c:
        r = c.post("/v1/tokenize", json={"dataset": "pop_basic", "field": "联系电话", "values": PHONES})
        assert r.status_code == 200, r.text
        tokens = r.json()["values"]
        assert all(len(t) == 11 and t.isdigit() for t in tokens) and tokens != PHONES
        assert_error(c.post("/v1/tokenize", json={"dataset": "pop_basic", "field": "x", "values": [""]}), 400)
        # Well-formed but outside the alphabet (schema-valid): 422, not a malformed-body 400.
        assert_error(c.post("/v1/tokenize", json={"dataset": "pop_basic", "field": "x", "values": ["abc"]}), 422)
        assert_error(c.post("/v1/tokenize", json={"dataset": "pop_basic", "field": "x", "values": ["1"],
                                                  "keep_last": False}), 400)  # strict: false is not 0
    with live.client("platform_granted") as c:
        r = c.post("/v1/detokenize", json={"dataset": "pop_basic", "field": "联系电话", "values": tokens,
                                           "purpose": "核查"})
        assert r.status_code == 200 and r.json()["values"] == PHONES


def test_own_decrypt_meets_own_rules(live: Live) -> None:
    """A decrypt with no declared purpose is audited into the SOC and raises the suite's own alert."""
    with live.client("exchange_platform") as c:
        ct = c.post("/v1/encrypt", json={"dataset": "pop_basic", "field": "姓名", "values": ["张三"]}).json()["values"]
    with live.client("admin_granted") as c:
        assert c.post("/v1/decrypt", json={"dataset": "pop_basic", "field": "姓名", "values": ct}).status_code == 200
    with live.client("soc_analyst") as c:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            page = c.get("/v1/alerts", params={"user": "admin-granted", "limit": 100}).json()
            titles = {a["rule_title"] for a in page["items"]}
            if "Decrypt Without Declared Purpose" in titles:
                break
            time.sleep(0.2)
        assert "Decrypt Without Declared Purpose" in titles, titles


@pytest.mark.parametrize("path,key_field", [("/v1/detokenize", "key_id"), ("/v1/tokenize", "key_id"),
                                            ("/v1/encrypt", "key_id")])
def test_unknown_key_is_404_and_never_created(live: Live, path: str, key_field: str) -> None:
    body = {"dataset": "pop_basic", "field": "联系电话", "values": PHONES, "key_id": "no-such-key",
            "purpose": "核查"}
    with live.client("platform_granted") as c:
        r = c.post(path, json=body)
    err = assert_error(r, 404, "key_not_found")
    assert "no-such-key" in err["message"] and err["field"] == key_field
    assert "no-such-key" not in key_ids(live)
    events = call_events(live, r.headers["x-request-id"])
    assert len(events) == 1 and events[0]["result"] == "error"
    assert events[0]["user"] == "gw-granted" and events[0]["role"] == "exchange_platform"  # the caller, not shuwei


def test_calls_audit_the_caller_and_the_key_version(live: Live) -> None:
    with live.client("exchange_platform") as c:
        r = c.post("/v1/tokenize", json={"dataset": "pop_basic", "field": "联系电话", "values": PHONES})
    assert r.status_code == 200 and r.json()["key_version"] == 1
    (event,) = call_events(live, r.headers["x-request-id"])
    assert event["user"] == "exchange_platform-key" and event["extra"]["operation"] == "tokenize"
    assert (event["extra"]["key_id"], event["extra"]["key_version"]) == ("fpe", 1)


def test_detokenize_after_rotation_refuses_or_is_right(live: Live) -> None:
    ring = admin_keyring(live)
    ring.create("fpe-rotating")
    body = {"dataset": "pop_basic", "field": "联系电话", "key_id": "fpe-rotating", "purpose": "核查"}
    with live.client("platform_granted") as c:
        v1 = c.post("/v1/tokenize", json={**body, "values": PHONES}).json()
        assert v1["key_version"] == 1
        ring.rotate("fpe-rotating")
        v2 = c.post("/v1/tokenize", json={**body, "values": PHONES}).json()
        assert v2["key_version"] == 2 and v2["values"] != v1["values"]
        for tokens in (v1["values"], v2["values"]):
            err = assert_error(c.post("/v1/detokenize", json={**body, "values": tokens}), 409, "key_state")
            assert err["field"] == "key_version" and "versions 1 (decrypt-only), 2 (active)" in err["message"]
        for tokens in (v1, v2):
            r = c.post("/v1/detokenize", json={**body, "values": tokens["values"], "key_version": tokens["key_version"]})
            assert r.status_code == 200 and r.json()["values"] == PHONES
        err = assert_error(c.post("/v1/detokenize", json={**body, "values": v1["values"], "key_version": 9}), 404)
        assert err["field"] == "key_version" and "no version 9" in err["message"]
        ring.destroy("fpe-rotating", 1)
        err = assert_error(c.post("/v1/detokenize", json={**body, "values": v1["values"], "key_version": 1}), 409)
        assert "destroyed" in err["message"]


def test_without_master_key_not_ready_and_503(tmp_path: Path) -> None:
    """No master key: /readyz says so, and calls that need a key answer the documented 503."""
    from soc.service.auth.keys import KeyStore

    key = KeyStore(tmp_path / "var").create(name="gw", role="exchange_platform")[0]
    server = LiveServer(tmp_path / "var", write_config(tmp_path))
    server.master_key = ""
    server.start()
    try:
        with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {key}"}, timeout=60) as c:
            ready = c.get("/readyz")
            assert ready.status_code == 503 and ready.json()["status"] == "not ready"
            assert ready.json()["checks"]["keyring"].startswith("error: MasterKeyError: no master key")
            record = {"姓名": "张三", "公民身份号码": "11010519491231002X", "联系电话": "13812345678"}
            # the shipped policy hashes resident IDs for auditors
            r = c.post("/v1/mask", json={"dataset": "pop_basic", "caller": {"user": "u1", "role": "auditor"},
                                         "records": [record]})
            assert "no master key" in assert_error(r, 503, "unavailable")["message"]
            masked = c.post("/v1/mask", json={"dataset": "pop_basic", "caller": {"user": "u1", "role": "analyst"},
                                              "records": [record]})
            assert masked.status_code == 200  # a policy that needs no key still works
            for path in ("/v1/tokenize", "/v1/encrypt"):
                assert_error(c.post(path, json={"dataset": "pop_basic", "field": "联系电话", "values": PHONES}),
                             503, "unavailable")
        log = server.log.read_text(encoding="utf-8", errors="replace")
        assert "Traceback" not in log and "internal_error" not in log
    finally:
        server.stop()


def test_decrypt_names_the_value_whose_key_is_gone(live: Live) -> None:
    ring = admin_keyring(live)
    ring.create("short-lived")
    body = {"dataset": "pop_basic", "field": "姓名"}
    with live.client("platform_granted") as c:
        cts = c.post("/v1/encrypt", json={**body, "key_id": "short-lived", "values": ["张三"]}).json()["values"]
        ring.rotate("short-lived")
        ring.destroy("short-lived", 1)
        deadline = time.monotonic() + 10  # the server re-reads a changed keyring within a second
        while (r := c.post("/v1/decrypt", json={**body, "values": cts, "purpose": "核查"})).status_code == 200:
            assert time.monotonic() < deadline, "destroyed key still decrypts"
            time.sleep(0.2)
        err = assert_error(r, 409, "key_state")
        assert err["field"] == "values[0]" and "destroyed" in err["message"]
        elsewhere = cts[0].replace(":short-lived:", ":never-made:")
        err = assert_error(c.post("/v1/decrypt", json={**body, "values": [elsewhere], "purpose": "核查"}), 404)
        assert err["field"] == "values[0]" and "never-made" not in key_ids(live)
