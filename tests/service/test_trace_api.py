"""``POST /v1/trace`` over real HTTP: releases through ``/v1/mask`` to two orgs, a 50-row CSV leak
of one traced back to its ``X-Release-ID``, the trace audited and alerted, bad bodies refused."""

from __future__ import annotations

import csv
import io
import json
import random
import sqlite3
import time

from tests.service.conftest import Live


def _release(live: Live, org: str, records: list[dict[str, str]]) -> tuple[str, list[dict[str, object]]]:
    caller = {"user": f"u-{org}", "role": "analyst", "org": org, "purpose": "统计"}
    with live.client("exchange_platform") as c:
        r = c.post("/v1/mask", json={"dataset": "fees_api", "caller": caller, "records": records})
    assert r.status_code == 200, r.text
    return r.headers["x-release-id"], r.json()["records"]


def test_a_leaked_csv_is_traced_to_its_release_and_alerted(live: Live) -> None:
    rng = random.Random(8)
    records = [{"受理日期": f"2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                "缴费金额": f"{rng.uniform(1, 3000):.2f}", "事项": rng.choice(["社保", "公积金", "户籍"])}
               for _ in range(400)]
    first, _ = _release(live, "市卫健委", records)
    second, released = _release(live, "市医保局", records)
    sample = rng.sample(released, 50)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=["缴费金额", "受理日期"], extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(sample)
    with live.client("compliance_officer") as c:
        r = c.post("/v1/trace", content=out.getvalue().encode("utf-8"), headers={"Content-Type": "text/csv"},
                   params={"dataset": "fees_api"})
        assert r.status_code == 200, r.text
        body = r.json()
        as_records = c.post("/v1/trace", json={"records": sample})
    assert body["verdict"] == "traced" and body["rows_examined"] == 50
    best = body["candidates"][0]
    assert best["release_id"] == second and best["caller"]["org"] == "市医保局" and best["p_value"] <= 1e-6
    assert all(c["release_id"] != first or c["p_value"] > 1e-6 for c in body["candidates"])
    assert as_records.json()["candidates"][0]["release_id"] == second

    deadline = time.monotonic() + 30
    alert = None
    while alert is None and time.monotonic() < deadline:
        with live.client("compliance_officer") as c:
            items = c.get("/v1/alerts", params={"limit": 500}).json()["items"]
        alert = next((a for a in items if a["rule_title"] == "Leak traced to a release"
                      and a["group"].get("release_id") == second), None)
        time.sleep(0.2)
    assert alert is not None and alert["severity"] == "high"
    assert alert["group"] == {"release_id": second, "user": "u-市医保局", "org": "市医保局"}
    with sqlite3.connect(live.server.data_dir / "soc.db") as db:
        docs = [json.loads(r[0]) for r in db.execute("SELECT doc FROM events WHERE action = 'api_call'")]
    traces = [d for d in docs if (d.get("extra") or {}).get("operation") == "trace"
              and d["extra"].get("release_id") == second]
    assert len(traces) == 2 and {d["user"] for d in traces} == {"compliance_officer-key"}
    assert all(d["extra"]["verdict"] == "traced" and d["extra"]["recipient"]["org"] == "市医保局" for d in traces)


def test_bad_leaks_are_refused_with_one_line(live: Live) -> None:
    with live.client("compliance_officer") as c:
        ragged = c.post("/v1/trace", content="a,b\n1\n".encode(), headers={"Content-Type": "text/csv"})
        assert ragged.status_code == 422  # names body:line, never a temporary path
        assert ragged.json()["error"]["message"].startswith("body:2:")
        assert c.post("/v1/trace", json={"rows": []}).status_code == 400
        assert c.post("/v1/trace", content=b"x", headers={"Content-Type": "text/plain"}).status_code == 415
    with live.client("exchange_platform") as c:
        assert c.post("/v1/trace", json={"records": []}).status_code == 403
