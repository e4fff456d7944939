"""The load generator: its own process, asyncio + httpx, N concurrent clients for a fixed time.

Run by ``bench.service`` as a subprocess so client CPU never shares the server's interpreter.
Prints one JSON object: requests, units (records or events) done, status counts, latencies.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import time
from typing import Any

from urllib.parse import urlsplit

from bench.service.data import audit_events, person_records


def _payloads(scenario: str, batch: int) -> Any:
    if scenario.startswith("mask"):
        pool = person_records(max(batch, 200))
        caller = {"user": "u1024", "role": "analyst", "org": "市卫健委", "purpose": "疫苗接种统计",
                  "approval_id": "AP-2026-0012"}

        def make(i: int) -> tuple[str, bytes, int]:
            start = (i * batch) % (len(pool) - batch + 1)
            body = {"dataset": "pop_bench", "caller": caller, "records": pool[start:start + batch]}
            return "/v1/mask", json.dumps(body, ensure_ascii=False).encode(), batch
        return make
    rng = random.Random(11)

    def make_events(i: int) -> tuple[str, bytes, int]:
        return "/v1/audit/events", json.dumps(audit_events(batch, rng), ensure_ascii=False).encode(), batch
    return make_events


class Connection:
    """A minimal HTTP/1.1 keep-alive client over asyncio streams.

    Hand-written on purpose: httpx.AsyncClient measured 138 req/s at 50 connections against a
    server that answers 3,300 req/s to raw sockets on this machine (its pool, not the server, was
    the limit), and neither aiohttp nor wrk is a dependency. POST with Content-Length only.
    """

    def __init__(self, host: str, port: int, headers: bytes) -> None:
        self.host, self.port, self.headers = host, port, headers
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        self.writer.write(b"POST " + path.encode() + b" HTTP/1.1\r\nHost: " + self.host.encode() + b"\r\n"
                          + self.headers + b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
        await self.writer.drain()
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split()[1])
        length = next(int(v) for k, _, v in (ln.partition(b":") for ln in lines[1:]) if k.lower() == b"content-length")
        payload = await self.reader.readexactly(length)
        if any(ln.lower() == b"connection: close" for ln in lines):
            self.writer.close()
            self.writer = None
        return status, payload


async def run(url: str, key: str, scenario: str, batch: int, concurrency: int, duration: float) -> dict[str, Any]:
    make = _payloads(scenario, batch)
    prebuilt = [make(i) for i in range(64)] if scenario.startswith("mask") else None
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    units = 0
    errors: list[str] = []
    host, port = urlsplit(url).hostname or "127.0.0.1", urlsplit(url).port or 80
    headers = f"Authorization: Bearer {key}\r\nContent-Type: application/json\r\n".encode()
    deadline = time.perf_counter() + duration

    async def client(n: int) -> None:
        nonlocal units
        conn = Connection(host, port, headers)
        i = n
        while time.perf_counter() < deadline:
            path, body, count = prebuilt[i % len(prebuilt)] if prebuilt else make(i)
            i += concurrency
            t0 = time.perf_counter()
            try:
                status, payload = await conn.post(path, body)
                code = str(status)
                if status == 200:
                    units += count
                elif len(errors) < 5:
                    errors.append(payload[:300].decode("utf-8", "replace"))
            except (OSError, asyncio.IncompleteReadError, ValueError, StopIteration) as exc:
                code = type(exc).__name__
                conn = Connection(host, port, headers)
            latencies.append(time.perf_counter() - t0)
            statuses[code] = statuses.get(code, 0) + 1

    started = time.perf_counter()
    await asyncio.gather(*(client(n) for n in range(concurrency)))
    elapsed = time.perf_counter() - started
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000 if latencies else float("nan")

    return {"scenario": scenario, "batch": batch, "concurrency": concurrency, "elapsed_s": elapsed,
            "requests": len(latencies), "units": units, "units_per_s": units / elapsed,
            "statuses": statuses, "median_ms": statistics.median(latencies) * 1000 if latencies else None,
            "p99_ms": pct(0.99), "errors": errors}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--url", required=True)
    ap.add_argument("--scenario", choices=["mask", "ingest"], required=True)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--concurrency", type=int, default=50)
    ap.add_argument("--duration", type=float, default=30)
    args = ap.parse_args()
    key = os.environ["SHUWEI_BENCH_API_KEY"]  # not argv: a key on a command line shows in `ps`
    try:
        import uvloop  # installed with uvicorn[standard]; the client should not be the bottleneck

        uvloop.install()
    except ImportError:
        pass
    result = asyncio.run(run(args.url, key, args.scenario, args.batch, args.concurrency, args.duration))
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
