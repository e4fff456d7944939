"""Concurrent writers on two workers, then ``kill -9`` between requests: nothing acknowledged is lost."""

from __future__ import annotations

import sqlite3
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from soc.service.auth.keys import KeyStore
from tests.service.conftest import write_config
from tests.service.live import LiveServer


def _events(n: int, tag: str) -> list[dict]:
    return [{"ts": "2026-03-02T10:15:02+08:00", "event_id": f"{tag}-{uuid.uuid4().hex}", "source": "portal",
             "user": f"u{i % 7}", "action": "query", "result": "success", "rows": 1} for i in range(n)]


def _count(data_dir: Path, prefix: str) -> int:
    with sqlite3.connect(data_dir / "soc.db") as db:
        return db.execute("SELECT count(*) FROM events WHERE event_id LIKE ?", (prefix + "%",)).fetchone()[0]


def test_concurrent_writers_then_kill9_and_restart(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    data_dir = tmp_path / "var"
    key = KeyStore(data_dir).create(name="writer", role="admin")[0]
    server = LiveServer(data_dir, config, workers=2)
    server.start()
    headers = {"Authorization": f"Bearer {key}"}
    acked = 0
    try:
        def post(i: int) -> tuple[int, int, str]:
            with httpx.Client(base_url=server.url, headers=headers, timeout=120) as c:
                if i % 3 == 0:
                    r = c.post("/v1/mask", json={"dataset": "d", "caller": {"user": "u", "role": "analyst"},
                                                 "records": [{"姓名": "张三"}] * 20})
                    return r.status_code, 0, r.text
                r = c.post("/v1/audit/events", json=_events(200, "conc"))
                return r.status_code, r.json().get("accepted", 0) if r.status_code == 200 else 0, r.text
        with ThreadPoolExecutor(16) as pool:
            results = list(pool.map(post, range(48)))
        bad = [(code, text[:200]) for code, _, text in results if code != 200]
        assert not bad, bad  # no "database is locked", no 5xx under concurrent writers
        acked = sum(n for _, n, _ in results)
        assert acked == 32 * 200 and _count(data_dir, "conc-") == acked
        with sqlite3.connect(data_dir / "soc.db") as db:  # each answered mask call left its audit event
            masks = db.execute("SELECT count(*) FROM events WHERE action = 'mask' AND source = 'shuwei'").fetchone()[0]
        assert masks == 16

        for round_ in range(2):  # kill -9 right after acknowledged requests, restart, count
            with httpx.Client(base_url=server.url, headers=headers, timeout=60) as c:
                for _ in range(3):
                    r = c.post("/v1/audit/events", json=_events(100, f"kill{round_}"))
                    assert r.status_code == 200
                    acked += r.json()["accepted"]
            server.kill9()
            server.start()
        with httpx.Client(base_url=server.url, headers=headers, timeout=60) as c:
            assert c.get("/readyz").status_code == 200
        stored = _count(data_dir, "conc-") + sum(_count(data_dir, f"kill{i}-") for i in range(2))
        assert stored == acked == 32 * 200 + 600
    finally:
        server.stop()
