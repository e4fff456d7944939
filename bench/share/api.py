"""The watermark's overhead as the exchange platform sees it: ``POST /v1/mask`` calls of 100 records.

Two ``shuwei serve`` processes on loopback, the same catalog and keys' layout, one with the shipped
policy and one with its ``watermark:`` section removed; calls alternate between them (ABBA, call by
call, so a neighbour's burst lands on both). Reported: the median latency of a call and the CPU the
server spent per call (its process's CPU time, steadier than wall time on a shared machine), each
with the ratio against the server without the watermark. A call here includes what every release
pays — request parsing, the release ledger row and the ``mask`` audit event, both durable before
the answer — which is why this ratio is lower than the engine-only one ``bench.share`` prints first.
"""

from __future__ import annotations

import json
import secrets
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import yaml

from bench.service.__main__ import _server_cpu
from bench.share.run import COLUMNS, records
from soc.service.auth.keys import KeyStore
from tests.service.live import REPO, LiveServer

CALLER = {"user": "u-bench", "role": "auditor", "org": "市卫健委", "purpose": "bench"}


def _server(root: Path, name: str, watermark: bool, master_key: str) -> tuple[LiveServer, str]:
    from classifier.catalog import Catalog
    from classifier.settings import Settings

    home = root / name
    home.mkdir()
    crypto: dict[str, Any] = {}
    if not watermark:
        policy = yaml.safe_load((REPO / "policies" / "masking.yaml").read_text(encoding="utf-8"))
        policy.pop("watermark")
        (home / "masking.yaml").write_text(yaml.safe_dump(policy, allow_unicode=True), encoding="utf-8")
        crypto["policy_file"] = str(home / "masking.yaml")
    config = home / "shuwei.yaml"
    config.write_text(yaml.safe_dump({"crypto": crypto} if crypto else {}, allow_unicode=True), encoding="utf-8")
    data_dir = home / "var"
    Catalog.open(Settings(data_dir=data_dir)).record_scans([{"dataset": "share_bench", "source": "bench", "columns": [
        {"name": n, "entity": e, "grade": g, "category": None} for n, e, g in COLUMNS]}])
    key = KeyStore(data_dir).create(name="bench-gateway", role="exchange_platform")[0]
    server = LiveServer(data_dir, config, workers=1, log=home / "server.log")
    server.master_key = master_key
    return server, key


def api_overhead(batch: int, calls: int) -> dict[str, Any]:
    """Latency and server CPU per ``/v1/mask`` call, without and with the watermark."""
    recs = records(batch * 50)
    bodies = [json.dumps({"dataset": "share_bench", "caller": CALLER, "records": recs[i:i + batch]},
                         ensure_ascii=False).encode() for i in range(0, len(recs), batch)]
    with tempfile.TemporaryDirectory(prefix="shuwei-bench-share-api-") as tmp:
        master = secrets.token_hex(32)
        servers = {"plain": _server(Path(tmp), "plain", False, master),
                   "marked": _server(Path(tmp), "marked", True, master)}
        clients: dict[str, httpx.Client] = {}
        try:
            for name, (server, key) in servers.items():
                server.start()
                clients[name] = httpx.Client(base_url=server.url, timeout=60, headers={
                    "Authorization": f"Bearer {key}", "Content-Type": "application/json"})
            marked_sample = None
            for name, client in clients.items():  # warm: engine, plan, keys, memos
                for body in bodies[:20]:
                    resp = client.post("/v1/mask", content=body)
                    resp.raise_for_status()
                if name == "marked":
                    marked_sample = resp.json()["records"][0]
            wall: dict[str, list[float]] = {"plain": [], "marked": []}
            cpu0 = {name: _server_cpu(server) for name, (server, _) in servers.items()}
            for i in range(calls):
                body = bodies[i % len(bodies)]
                for name in (("plain", "marked") if i % 4 in (0, 3) else ("marked", "plain")):
                    t0 = time.perf_counter()
                    clients[name].post("/v1/mask", content=body).raise_for_status()
                    wall[name].append(time.perf_counter() - t0)
            cpu = {name: (_server_cpu(server) - cpu0[name]) / calls for name, (server, _) in servers.items()}
        finally:
            for client in clients.values():
                client.close()
            for server, _ in servers.values():
                server.stop()
    return {"latency": {n: statistics.median(v) for n, v in wall.items()}, "cpu": cpu, "calls": calls,
            "sample": marked_sample}
