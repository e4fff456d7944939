"""``POST /v1/mask`` per the contract, over real HTTP, with its audit events checked in soc.db."""

from __future__ import annotations

import json
import random
import sqlite3
from pathlib import Path

import yaml

from tests.service.conftest import Live, write_config
from tests.service.live import LiveServer
from tests.service.test_basics import assert_error

CALLER = {"user": "u1024", "role": "analyst", "org": "市卫健委", "purpose": "疫苗接种统计",
          "approval_id": "AP-2026-0012"}
RECORD = {"姓名": "张三", "公民身份号码": "11010519491231002X", "联系电话": "13812345678"}


def mask_events(live: Live, request_id: str) -> list[dict]:
    with sqlite3.connect(live.server.data_dir / "soc.db") as db:
        rows = db.execute("SELECT doc FROM events WHERE action = 'mask'").fetchall()
    docs = [json.loads(r[0]) for r in rows]
    return [d for d in docs if (d.get("extra") or {}).get("request_id") == request_id]


def test_contract_example(live: Live) -> None:
    with live.client("exchange_platform") as c:
        r = c.post("/v1/mask", json={"dataset": "adhoc_release", "caller": CALLER, "records": [RECORD]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"records", "decisions", "fallbacks", "request_id"}
    assert body["request_id"] == r.headers["x-request-id"]
    assert body["records"] == [{"姓名": "张*", "公民身份号码": "110105********002X", "联系电话": "138****5678"}]
    assert body["decisions"]["姓名"]["strategy"] == "mask_name"
    assert all(set(d) == {"strategy", "reason"} and d["reason"] for d in body["decisions"].values())
    assert body["fallbacks"] == []
    events = mask_events(live, body["request_id"])
    assert len(events) == 1  # exactly one audit event per call
    ev = events[0]
    assert ev["source"] == "shuwei" and ev["user"] == "u1024" and ev["dataset"] == "adhoc_release"
    assert ev["rows"] == 1 and ev["result"] == "success" and ev["extra"]["api_key"] == "exchange_platform-key"
    with live.client() as c:
        assert 'shuwei_mask_decisions_total{strategy="mask_name"}' in c.get("/metrics").text


def test_fallbacks_never_leak_raw_values(live: Live) -> None:
    records = [{"姓名": "张三", "联系电话": "13812345678"}, {"姓名": "李四", "联系电话": "1381234"}]
    with live.client("exchange_platform") as c:
        r = c.post("/v1/mask", json={"dataset": "pop_basic", "caller": CALLER, "records": records})
    assert r.status_code == 200, r.text
    assert "1381234" not in r.text and "13812345678" not in r.text


def test_large_batch_is_accepted(live: Live) -> None:
    rng = random.Random(5)
    records = [{"姓名": "张三", "联系电话": f"1{rng.choice('3589')}{rng.randrange(10**9):09d}"} for _ in range(10_000)]
    with live.client("exchange_platform") as c:
        r = c.post("/v1/mask", json={"dataset": "pop_basic", "caller": CALLER, "records": records})
        assert r.status_code == 200, r.text[:300]
        out = r.json()["records"]
        assert len(out) == 10_000
        assert all(o["联系电话"] == i["联系电话"][:3] + "****" + i["联系电话"][-4:] for o, i in zip(out, records))
        too_many = [{"a": 1}] * 20_001  # the test server's mask_max_records is 20,000
        err = assert_error(c.post("/v1/mask", json={"dataset": "d", "caller": CALLER, "records": too_many}), 413)
        assert err["field"] == "records"


def test_bad_requests_are_400_naming_the_field(live: Live) -> None:
    with live.client("exchange_platform") as c:
        err = assert_error(c.post("/v1/mask", json={"dataset": "d", "caller": CALLER, "records": [{"a": 1}, 5]}), 400)
        assert err["field"] == "records[1]"
        err = assert_error(c.post("/v1/mask", json={"dataset": "d", "caller": {"role": "x"}, "records": []}), 400)
        assert err["field"] == "caller.user"
        err = assert_error(c.post("/v1/mask", json=["not", "an", "object"]), 400)
    with live.client() as c:
        assert_error(c.post("/v1/mask", json={"dataset": "d", "caller": CALLER, "records": []}), 401)
    with live.client("soc_analyst") as c:
        assert_error(c.post("/v1/mask", json={"dataset": "d", "caller": CALLER, "records": []}), 403)
    with live.client("owner_pop") as c:
        assert_error(c.post("/v1/mask", json={"dataset": "pop_basic", "caller": CALLER, "records": []}), 403)


def test_unknown_strategy_in_policy_is_422(tmp_path: Path, live: Live) -> None:
    policy = yaml.safe_load((Path(__file__).resolve().parents[2] / "policies" / "masking.yaml").read_text("utf-8"))
    policy["masks"]["PERSON_NAME"] = {"strategy": "scramble_everything"}
    bad = tmp_path / "masking.yaml"
    bad.write_text(yaml.safe_dump(policy, allow_unicode=True), encoding="utf-8")
    config = write_config(tmp_path)
    raw = yaml.safe_load(config.read_text("utf-8"))
    raw["crypto"] = {"policy_file": str(bad)}
    config.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    from soc.service.auth.keys import KeyStore

    key = KeyStore(tmp_path / "var").create(name="gw", role="exchange_platform")[0]
    server = LiveServer(tmp_path / "var", config)
    server.start()
    try:
        import httpx

        r = httpx.post(server.url + "/v1/mask", json={"dataset": "d", "caller": CALLER, "records": [RECORD]},
                       headers={"Authorization": f"Bearer {key}"}, timeout=60)
        err = assert_error(r, 422, "policy_error")
        assert "scramble_everything" in err["message"]
    finally:
        server.stop()


def test_nested_record_and_free_text(live: Live) -> None:
    record = {"applicant": {"name": "张三", "id_no": "11010519491231002X"},
              "payload": json.dumps({"contact": {"tel": "13912345678"}}),
              "诉求内容": "市民张三来电反映噪音，联系电话13812345678"}
    with live.client("exchange_platform") as c:
        r = c.post("/v1/mask", json={"dataset": "adhoc_nested", "caller": CALLER, "records": [record]})
    assert r.status_code == 200, r.text
    body = r.json()
    out = body["records"][0]
    assert out["applicant"] == {"name": "张*", "id_no": "110105********002X"}
    assert json.loads(out["payload"]) == {"contact": {"tel": "139****5678"}}
    assert out["诉求内容"] == "市民张*来电反映噪音，联系电话138****5678"
    assert body["decisions"]["诉求内容"]["spans"] == {"PERSON_NAME": 1, "CN_MOBILE": 1}
    assert "13812345678" not in r.text and "11010519491231002X" not in r.text
