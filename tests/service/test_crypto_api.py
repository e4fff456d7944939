"""Encrypt/decrypt and tokenize/detokenize round trips, grants, and the self-audit they trigger."""

from __future__ import annotations

import time

from tests.service.conftest import Live
from tests.service.test_basics import assert_error

PHONES = ["13812345678", "15900001111"]


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
