"""Logs of the service and the CLI: JSON lines with the request id, and never a secret or a raw value.

A full flow (scan, mask, tokenize, detokenize, encrypt, decrypt, ingest, refusals) runs against a
live server at DEBUG; then its whole log is searched for every API key, the master key and every raw
value that was fed in.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from crypto.keyring import Keyring
from crypto.masterkey import LocalMasterKey
from soc import logsetup
from soc.service.auth.keys import KeyStore
from tests.service.conftest import POP_CSV, write_config
from tests.service.live import REPO, LiveServer

NAMES = ["张三", "李四", "王五"]
IDS = ["11010519491231002X", "110105194912310021", "440305199001011234"]
PHONES = ["13812345678", "13912345678", "13512345678"]
ADDRESSES = ["北京市东城区景山前街4号", "上海市黄浦区南京东路100号"]
EMAIL = "zhang.san@gov.cn"
RAW = [*NAMES, *IDS, *PHONES, *ADDRESSES, EMAIL, "abc13812345678"]


@pytest.fixture(scope="module")
def flow(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, dict[str, str], list[str]]]:
    root = tmp_path_factory.mktemp("logging")
    config = write_config(root)
    (root / "sources" / "pop_basic.csv").write_text(POP_CSV, encoding="utf-8")
    store = KeyStore(root / "var")
    keys = {"admin": store.create(name="log-admin", role="admin", grants=["decrypt", "detokenize"])[0],
            "platform": store.create(name="log-gw", role="exchange_platform")[0]}
    srv = LiveServer(root / "var", config, args=["--log-level", "debug", "--log-format", "json"])
    ring = Keyring(root / "var" / "keyring.json", LocalMasterKey(bytes.fromhex(srv.master_key)), actor="test-admin")
    for key_id in ("fpe", "default"):  # keys are an admin's job: API calls never create them
        ring.ensure(key_id)
    srv.start()
    rids: list[str] = []
    try:
        rids = _run_flow(srv.url, keys)
    finally:
        srv.stop()
    yield srv, keys, rids


def _run_flow(url: str, keys: dict[str, str]) -> list[str]:
    """Every area of the API once with sensitive values, plus refusals that name fields."""
    rids = []
    admin = {"Authorization": f"Bearer {keys['admin']}"}
    gw = {"Authorization": f"Bearer {keys['platform']}"}
    records = [{"姓名": n, "公民身份号码": i, "联系电话": p, "地址": ADDRESSES[0], "邮箱": EMAIL}
               for n, i, p in zip(NAMES, IDS, PHONES)]
    field = {"dataset": "pop_basic", "field": "联系电话"}
    with httpx.Client(base_url=url, timeout=120) as c:
        def call(method: str, path: str, headers: dict[str, str], expect: int, **kw: object) -> httpx.Response:
            rid = f"logtest-{len(rids)}"
            r = c.request(method, path, headers={**headers, "X-Request-ID": rid}, **kw)  # type: ignore[arg-type]
            assert r.status_code == expect, (path, r.text)
            rids.append(rid)
            return r

        call("POST", "/v1/datasets/scans", admin, 200, json={"source": "pop_basic.csv"})
        call("POST", "/v1/mask", gw, 200, json={"dataset": "pop_basic", "records": records,
                                                "caller": {"user": "u1024", "role": "analyst"}})
        tokens = call("POST", "/v1/tokenize", gw, 200, json={**field, "values": PHONES}).json()["values"]
        call("POST", "/v1/detokenize", admin, 200, json={**field, "values": tokens})
        cts = call("POST", "/v1/encrypt", gw, 200, json={**field, "values": PHONES + IDS}).json()["values"]
        call("POST", "/v1/decrypt", admin, 200, json={**field, "values": cts})
        call("POST", "/v1/decrypt", admin, 422, json={"dataset": "pop_basic", "field": "姓名", "values": cts})
        call("POST", "/v1/tokenize", gw, 422, json={**field, "values": ["abc"]})
        call("POST", "/v1/tokenize", gw, 400, json={**field, "values": "abc13812345678"})
        call("POST", "/v1/audit/events", admin, 200, json=[
            {"ts": "2026-03-01T09:15:02+08:00", "event_id": "log-1", "source": "exchange-gateway",
             "user": "u1024", "action": "download", "result": "success", "dataset": "pop_basic",
             "rows": 3, "extra": {"note": f"{NAMES[0]} {PHONES[0]} {EMAIL}"}},
            {"ts": IDS[0], "event_id": "log-2", "source": "x", "user": "u1", "action": "query",
             "result": "success"}])
        call("GET", "/v1/whoami", {"Authorization": f"Bearer {keys['admin'][:-2]}xx"}, 401)
        call("POST", "/v1/mask", {**gw, "Content-Type": "text/plain"}, 415, content=json.dumps({"dataset": "d"}))
    return rids


def test_service_logs_are_json_lines_with_the_request_id(flow: tuple[LiveServer, dict[str, str], list[str]]) -> None:
    srv, _, rids = flow
    lines = [json.loads(line) for line in srv.log.read_text(encoding="utf-8").splitlines() if line.startswith("{")]
    assert lines, srv.log.read_text(encoding="utf-8")[-2000:]
    assert {"ts", "level", "logger", "request_id", "message"} <= set(lines[0])
    access = {rec["request_id"]: rec["message"] for rec in lines if rec["logger"] == "shuwei.service"}
    assert set(rids) <= set(access), sorted(access)
    assert access[rids[1]].startswith("POST /v1/mask 200")


def test_service_logs_carry_no_secret_and_no_raw_value(flow: tuple[LiveServer, dict[str, str], list[str]]) -> None:
    srv, keys, _ = flow
    text = srv.log.read_text(encoding="utf-8")
    for name, key in keys.items():
        # swk_<id>_<secret>: the secret is base64url, so it may hold "_" itself
        secret = key.split("_", 2)[2]
        assert len(secret) == 43 and key not in text and secret not in text, f"API key {name} in the log"
    assert srv.master_key not in text and srv.master_key.lower() not in text
    leaked = [value for value in RAW if value in text or json.dumps(value)[1:-1] in text]
    assert leaked == []


def test_redaction_is_the_safety_net_for_what_a_message_carries_by_mistake() -> None:
    key = "swk_0123456789ab_" + "A" * 43
    text = logsetup.redact(f"key {key} master {'ab' * 32} tel 13812345678 id 11010519491231002X "
                           f"mail {EMAIL} auth Bearer abcdefghijklmnop rows 5000 at 2026-03-01T09:15:02+08:00")
    for secret in (key, "ab" * 32, "13812345678", "11010519491231002X", EMAIL, "abcdefghijklmnop"):
        assert secret not in text
    assert "rows 5000 at 2026-03-01T09:15:02+08:00" in text  # ordinary numbers and times stay


def test_cli_logs_json_with_the_root_options(tmp_path: Path) -> None:
    """The CLI root's --log-format/--log-level reach the shuwei.* loggers (their messages were dropped)."""
    events = tmp_path / "events.jsonl"
    events.write_text('{"ts": "2026-03-01T09:15:02+08:00", "event_id": "e1", "source": "s", "user": "u",'
                      f' "action": "login", "result": "success"}}\n{{"bad": "{PHONES[0]}"}}\n', encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHUWEI_")}
    proc = subprocess.run([sys.executable, "-m", "soc.cli.main", "--log-level", "info", "--log-format", "json",
                           "soc", "ingest", str(events)], cwd=REPO, capture_output=True, text=True, timeout=120,
                          env={**env, "SHUWEI_DATA_DIR": str(tmp_path / "var")})
    assert proc.returncode == 2, proc.stderr  # one event rejected
    records = [json.loads(line) for line in proc.stderr.splitlines() if line.startswith("{")]
    assert any(r["logger"] == "shuwei.ingest" and r["level"] == "INFO" for r in records), proc.stderr
    assert PHONES[0] not in proc.stderr
