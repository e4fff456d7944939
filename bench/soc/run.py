"""The measurements of bench/soc; each takes the store it measures, so the Elasticsearch backend
plugs in at :func:`measure_ingest` / :func:`measure_hunt` (``--backend elasticsearch``)."""

from __future__ import annotations

import gc
import os
import re
import shutil
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from classifier.settings import Settings, get_settings
from soc.config import rules_dir, soc_config
from soc.detection import RulePack, StreamingDetector, hunt
from soc.enrich import Enricher
from soc.ingest import IngestPipeline
from soc.store.base import AlertStore, EventStore
from soc.store.sqlite import SqliteAlertStore, SqliteEventStore
from soc.traffic import Traffic, generate, score, seed_catalog

TARGET_STREAM = 50_000   # events/s, streaming detection with the full pack
TARGET_INGEST = 30_000   # events/s, durable ingest
TARGET_HUNT = 30.0       # seconds, hunt of the pack over >= 1M stored events
NAIVE_QUERY_LIMIT = 60.0  # seconds one baseline query may run before it is cut off


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def _settings(data_dir: Path) -> Settings:
    os.environ["SHUWEI_DATA_DIR"] = str(data_dir)
    get_settings.cache_clear()
    return get_settings()


def measure_streaming(pack: RulePack, events: list[dict[str, Any]],
                      repeat: int) -> tuple[float, float, int]:
    """Median events/s (wall clock, and per CPU-second of this process) of a fresh
    StreamingDetector over the enriched day; and its match count."""
    rates, cpu_rates, matches = [], [], 0
    for _ in range(repeat):
        det = StreamingDetector(pack)
        t, c = time.perf_counter(), time.process_time()
        matches = sum(len(det.process(e, i)) for i, e in enumerate(events, 1))
        rates.append(len(events) / (time.perf_counter() - t))
        cpu_rates.append(len(events) / (time.process_time() - c))
    return statistics.median(rates), statistics.median(cpu_rates), matches


def measure_ingest(store: EventStore, alert_store: AlertStore, settings: Settings,
                   history: list[dict[str, Any]], day: list[dict[str, Any]]) -> tuple[float, float, float]:
    """Durable ingest (validate → enrich → one transaction per batch) of the day after the
    history; returns overall events/s, the median of per-100k-chunk rates, and events per
    CPU-second of this process (fsync waits excluded)."""
    pipe = IngestPipeline.from_settings(settings, store=store, alert_store=alert_store,
                                        detection=False, playbooks=False)
    pipe.ingest(history, origin="bench-history")
    chunk, rates = 100_000, []
    t0, c0 = time.perf_counter(), time.process_time()
    for i in range(0, len(day), chunk):
        t = time.perf_counter()
        res = pipe.ingest(day[i:i + chunk], origin="bench")
        assert not res.rejected, res.rejected[:3]
        rates.append(len(day[i:i + chunk]) / (time.perf_counter() - t))
    total = len(day) / (time.perf_counter() - t0)
    return total, statistics.median(rates), len(day) / (time.process_time() - c0)


def measure_ingest_baseline(data_dir: Path, day: list[dict[str, Any]], n: int = 3000) -> float:
    """The naive way: one transaction (one fsync) per event."""
    store = SqliteEventStore.in_dir(data_dir)
    t = time.perf_counter()
    for e in day[:n]:
        store.append([e])
    rate = n / (time.perf_counter() - t)
    store.close()
    return rate


def measure_hunt(pack: RulePack, db: Path) -> tuple[float, int]:
    t = time.perf_counter()
    res = hunt(pack, db, backend="sqlite")
    return time.perf_counter() - t, len(res)


def naive_hunt(pack: RulePack, db: Path) -> tuple[float, int, int, int]:
    """The Zircolite way: the plain pySigma sqlite backend converts every rule (correlations
    included) and each query runs on its own over a flat ``logs`` table (a view of the store).
    Returns (seconds, queries run, queries failed, queries cut off at NAIVE_QUERY_LIMIT)."""
    from sigma.backends.sqlite import sqliteBackend

    backend = sqliteBackend(collect_errors=True)
    queries = backend.convert(pack.collection)
    failed_conversions = len(backend.errors)
    conn = sqlite3.connect(db)
    dotted = sorted({m for q in queries for m in re.findall(r"`([a-z_]+\.[a-z_.]+)`", q)})
    extra_cols = "".join(f", json_extract(doc, '$.{d}') AS `{d}`" for d in dotted)
    conn.execute(f"CREATE TEMP VIEW logs AS SELECT *, ts AS timestamp{extra_cols} FROM events")
    deadline = [0.0]
    conn.set_progress_handler(lambda: int(time.perf_counter() > deadline[0]), 100_000)
    failed, cut = failed_conversions, 0
    t0 = time.perf_counter()
    for q in queries:
        deadline[0] = time.perf_counter() + NAIVE_QUERY_LIMIT
        try:
            conn.execute(q).fetchall()
        except sqlite3.OperationalError as exc:
            if "interrupted" in str(exc):
                cut += 1
            else:
                failed += 1
    seconds = time.perf_counter() - t0
    conn.close()
    return seconds, len(queries), failed, cut


def measure_split(root: Path, traffic: Traffic) -> tuple[float, float, int, int]:
    """``shuwei soc ingest FILE`` of the day after its history, as the CLI runs it: in line
    (one process) and with detection in a second process (soc/ingest_split.py), each timed
    from pipeline set-up to close. Returns (in-line events/s, split events/s, alerts each)."""
    from classifier import jsonl
    from soc import ingest_split

    day = root / "day.jsonl"
    day.write_bytes(b"".join(jsonl.dumps(e) + b"\n" for e in traffic.day))
    os.environ["SHUWEI_PLAYBOOK_DIR"] = str(root / "no-playbooks")  # as step [4]: no playbooks
    rates, alerts = [], []
    for name in ("inline", "split"):
        settings = _settings(root / name)
        seed_catalog(settings)
        pipe = IngestPipeline.from_settings(settings, playbooks=False)
        pipe.ingest(traffic.history, origin="bench-history")
        pipe.close()
        t = time.perf_counter()
        if name == "split":
            ingest_split.ingest_file(settings, day)
        else:
            pipe = IngestPipeline.from_settings(settings)
            pipe.ingest_file(day)
            pipe.close()
        rates.append(len(traffic.day) / (time.perf_counter() - t))
        conn = sqlite3.connect(root / name / "soc.db")
        alerts.append(conn.execute("SELECT count(*) FROM alerts").fetchone()[0])
        conn.close()
    del os.environ["SHUWEI_PLAYBOOK_DIR"]
    return rates[0], rates[1], alerts[0], alerts[1]


def _timed(label: str, fn: Callable[[], Any]) -> Any:
    t = time.perf_counter()
    out = fn()
    print(f"  ({label}: {time.perf_counter() - t:.1f} s)", flush=True)
    return out


def run(events: int, *, backend: str = "sqlite", repeat: int = 3, seed: int = 42) -> int:
    root = Path(tempfile.mkdtemp(prefix="shuwei-bench-soc-"))
    try:
        if backend == "elasticsearch":
            from bench.soc.es import run_es

            return run_es(root, events, repeat, seed)
        return _run(root, events, repeat, seed)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _run(root: Path, events: int, repeat: int, seed: int) -> int:
    print(f"bench/soc: {events:,} benign events on one day + injected attacks (seed {seed}); "
          f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}", flush=True)
    traffic: Traffic = _timed("generate", lambda: generate(events, seed=seed))
    # The generated day stays in memory (millions of objects); without this the cyclic GC
    # rescans it on every collection and bills that to whatever is being measured.
    gc.freeze()
    print(f"  history {len(traffic.history):,} events, day {len(traffic.day):,} events, "
          f"{len(traffic.scenarios)} scenarios", flush=True)
    settings = _settings(root / "ingest")
    _timed("grade sample datasets into the catalog", lambda: seed_catalog(settings))
    cfg = soc_config(settings)
    pack = RulePack.load(rules_dir(settings, cfg))
    print(f"  rule pack: {len(pack.rules)} rules, {len(pack.correlations)} correlations, "
          f"{len(pack.errors)} load errors", flush=True)
    from classifier.catalog import Catalog

    enricher = Enricher(Catalog.open(settings), cfg.working_hours, cfg.timezone or settings.timezone)
    from soc.validate import parse_ts

    for e in traffic.day:
        enricher.enrich(e, parse_ts(e["ts"]))

    results: list[tuple[str, str, bool]] = []
    print("\n[1] streaming detection, full pack, in memory", flush=True)
    stream_rate, stream_cpu, stream_matches = measure_streaming(pack, traffic.day, repeat)
    print(f"  median {stream_rate:,.0f} events/s over {len(traffic.day):,} events "
          f"({stream_cpu:,.0f} per CPU-second; {stream_matches:,} matches)")
    results.append(("streaming detection >= 50,000 events/s", f"{stream_rate:,.0f}/s",
                    stream_rate >= TARGET_STREAM))

    print("\n[2] durable ingest (validate, enrich, SQLite WAL, synchronous=FULL, SM3 chain)", flush=True)
    data = root / "ingest"
    store, alerts = SqliteEventStore.in_dir(data), SqliteAlertStore.in_dir(data)
    ingest_rate, ingest_median, ingest_cpu = measure_ingest(store, alerts, settings, traffic.history,
                                                            traffic.day)
    stored = store.count()
    t = time.perf_counter()
    chain_ok = store.verify().ok
    print(f"  soc verify of the SM3 chain over {stored:,} events: {time.perf_counter() - t:.1f} s, "
          f"{'intact' if chain_ok else 'BROKEN'}")
    store.close()
    alerts.close()
    base_rate = measure_ingest_baseline(root / "baseline", traffic.day)
    print(f"  {ingest_rate:,.0f} events/s overall, median per 100k chunk {ingest_median:,.0f}/s "
          f"({ingest_cpu:,.0f} per CPU-second); "
          f"baseline one transaction per event {base_rate:,.0f}/s; ratio {ingest_rate / base_rate:.1f}x")
    results.append(("durable ingest >= 30,000 events/s", f"{ingest_rate:,.0f}/s", ingest_rate >= TARGET_INGEST))

    print(f"\n[3] hunt of the pack over {stored:,} stored events (sqlite backend)", flush=True)
    db = data / "soc.db"
    hunts = [measure_hunt(pack, db) for _ in range(max(1, min(repeat, 3)))]
    hunt_s = statistics.median(h[0] for h in hunts)
    print(f"  median {hunt_s:.1f} s, {hunts[0][1]:,} matches")
    naive_s, nq, nfail, ncut = naive_hunt(pack, db)
    lower = " (lower bound: queries cut off)" if ncut else ""
    print(f"  naive baseline (plain pySigma sqlite backend, one query per rule): {naive_s:.1f} s{lower} "
          f"for {nq} queries, {nfail} failed, {ncut} cut off at {NAIVE_QUERY_LIMIT:.0f} s; "
          f"ratio naive/hunt {naive_s / hunt_s:.1f}x")
    results.append(("hunt over >= 1M stored events <= 30 s", f"{hunt_s:.1f} s", hunt_s <= TARGET_HUNT))

    print("\n[4] full pipeline: ingest with streaming detection, anomaly detectors and alerts", flush=True)
    full = _settings(root / "full")
    seed_catalog(full)
    pipe = IngestPipeline.from_settings(full, playbooks=False)
    pipe.ingest(traffic.history, origin="bench-history")
    t = time.perf_counter()
    res = pipe.ingest(traffic.day, origin="bench")
    full_rate = len(traffic.day) / (time.perf_counter() - t)
    all_alerts = pipe.alerts.list()
    pipe.close()
    print(f"  {full_rate:,.0f} events/s end to end; {len(all_alerts)} alerts "
          f"({len(res.alerts)} touched by the day)")
    report = score(traffic, all_alerts)
    for line in report["lines"]:
        print("  " + line)
    print(f"  scenarios detected {report['detected']}/{report['injected']}; "
          f"alerts on benign users: {report['benign_alerts']}")
    for rule, n in sorted(report["benign_by_rule"].items(), key=lambda x: -x[1]):
        print(f"    benign: {n:5d}  {rule}")

    print("\n[4b] `soc ingest FILE`: in line vs detection in a second process (soc/ingest_split.py)",
          flush=True)
    inline_rate, split_rate, inline_alerts, split_alerts = measure_split(root, traffic)
    print(f"  in line {inline_rate:,.0f} events/s, split {split_rate:,.0f} events/s "
          f"(set-up to close); ratio {split_rate / inline_rate:.2f}x; alerts {inline_alerts} / {split_alerts}")
    results.append(("file ingest with detection >= 30,000 events/s", f"{split_rate:,.0f}/s",
                    split_rate >= TARGET_INGEST))

    print(f"\nsummary (load average now {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")
    for name, figure, ok in results:
        print(f"  {_verdict(ok)}  {name}: {figure}")
    return 0
