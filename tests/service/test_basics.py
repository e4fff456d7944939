"""Health, metrics, the error shape, request ids, authentication and rate limits over real HTTP."""

from __future__ import annotations

import subprocess
import sys

import httpx

from tests.service.conftest import Live
from tests.service.live import REPO


def assert_error(resp: httpx.Response, status: int, code: str | None = None) -> dict:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert set(body) == {"error"}
    err = body["error"]
    assert set(err) == {"code", "message", "field", "request_id"}
    assert err["request_id"] == resp.headers["x-request-id"]
    assert "Traceback" not in resp.text
    if code:
        assert err["code"] == code
    return err


def test_health_and_request_id(live: Live) -> None:
    with live.client() as c:
        r = c.get("/healthz")
        assert r.status_code == 200 and r.json() == {"status": "ok"}
        assert len(r.headers["x-request-id"]) >= 16
        r2 = c.get("/healthz", headers={"X-Request-ID": "trace-42"})
        assert r2.headers["x-request-id"] == "trace-42"
        bad = c.get("/healthz", headers={"X-Request-ID": "no spaces; " + "x" * 80})
        assert " " not in bad.headers["x-request-id"] and len(bad.headers["x-request-id"]) <= 64
        assert c.get("/docs").status_code == 200
        assert "/v1/mask" in c.get("/openapi.json").json()["paths"]


def test_metrics_are_prometheus_text(live: Live) -> None:
    with live.client("admin") as c:
        c.get("/v1/whoami")
        text = c.get("/metrics").text
    assert '# TYPE shuwei_http_requests_total counter' in text
    assert 'shuwei_http_requests_total{method="GET",route="/v1/whoami",status="200"}' in text
    assert "shuwei_http_request_duration_seconds_bucket" in text


def test_error_shapes(live: Live) -> None:
    with live.client("admin") as c:
        assert_error(c.get("/v1/no-such-thing"), 404, "not_found")
        assert_error(c.delete("/healthz"), 405, "method_not_allowed")
        err = assert_error(c.post("/v1/mask", content=b"{not json", headers={"content-type": "application/json"}),
                           400)
        assert "JSON" in err["message"]
        err = assert_error(c.post("/v1/mask", json={"caller": {"user": "u"}, "records": []}), 400)
        assert err["field"] == "dataset"


def test_body_limit_413(live: Live) -> None:
    with live.client("admin") as c:
        big = b"x" * (16 * 1024 * 1024 + 1)
        assert_error(c.post("/v1/mask", content=big, headers={"content-type": "application/json"}), 413)

        def chunks():  # no Content-Length: the limit must count streamed bytes
            for _ in range(17):
                yield b" " * (1024 * 1024)
        assert_error(c.post("/v1/mask", content=chunks(), headers={"content-type": "application/json"}), 413)


def test_authentication(live: Live) -> None:
    with live.client() as c:
        assert_error(c.get("/v1/whoami"), 401, "unauthorized")
        assert_error(c.get("/v1/whoami", headers={"Authorization": "Bearer nope"}), 401)
        assert_error(c.get("/v1/whoami", headers={"Authorization": "Basic Zm9vOmJhcg=="}), 401)
        forged = live.keys["admin"][:-4] + "AAAA"
        assert_error(c.get("/v1/whoami", headers={"Authorization": f"Bearer {forged}"}), 401)
    with live.client("owner_pop") as c:
        me = c.get("/v1/whoami").json()
        assert me["role"] == "data_owner" and me["datasets"] == ["pop_basic"]


def test_keys_are_stored_hashed_and_revocable(live: Live) -> None:
    env = live.server.env()
    run = lambda *a: subprocess.run([sys.executable, "-m", "soc.cli.main", "apikey", *a], cwd=REPO, env=env,  # noqa: E731
                                    capture_output=True, text=True, timeout=60)
    created = run("create", "--role", "soc_analyst", "--name", "temp", "-f", "json")
    assert created.returncode == 0, created.stderr
    import json
    record = json.loads(created.stdout)
    key = record["api_key"]
    raw = (live.server.data_dir / "service.db").read_bytes()
    assert key.encode() not in raw and key.split("_")[-1].encode() not in raw
    with live.client(key) as c:
        assert c.get("/v1/whoami").status_code == 200
        assert run("revoke", record["key_id"]).returncode == 0
        assert_error(c.get("/v1/whoami"), 401)
    listed = run("list", "-f", "json")
    assert key not in listed.stdout
    assert any(k["key_id"] == record["key_id"] and k["revoked_at"] for k in json.loads(listed.stdout))
    bad = run("create", "--role", "root", "--name", "x")
    assert bad.returncode == 2 and "unknown role" in bad.stderr
    # The CLI's permission_grant event reaches the SOC through the outbox the service drains.
    import sqlite3
    import time
    deadline = time.monotonic() + 20
    found = 0
    while time.monotonic() < deadline and not found:
        with sqlite3.connect(live.server.data_dir / "soc.db") as db:
            found = db.execute("SELECT count(*) FROM events WHERE action = 'permission_grant' AND target_user = "
                               "'temp'").fetchone()[0]
        time.sleep(0.5)
    assert found >= 1


def test_rate_limit_429(live: Live) -> None:
    with live.client("limited") as c:
        codes = [c.get("/v1/whoami") for _ in range(6)]
    limited = [r for r in codes if r.status_code == 429]
    assert limited, [r.status_code for r in codes]
    assert_error(limited[0], 429, "rate_limited")
    assert int(limited[0].headers["retry-after"]) >= 1
    with live.client("admin") as c:  # other keys are not affected
        assert c.get("/v1/whoami").status_code == 200


def test_serve_rejects_bad_configuration(tmp_path) -> None:  # type: ignore[no-untyped-def]
    config = tmp_path / "shuwei.yaml"
    config.write_text("service:\n  rate_limit: {rate: -1}\n", encoding="utf-8")
    env = {"PATH": "/usr/bin:/bin", "SHUWEI_DATA_DIR": str(tmp_path / "var"), "SHUWEI_CONFIG": str(config)}
    proc = subprocess.run([sys.executable, "-m", "soc.cli.serve", "--port", "0"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "service.rate_limit.rate" in proc.stderr and "Traceback" not in proc.stderr
