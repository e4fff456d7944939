"""bench/soc ``--backend elasticsearch``: bulk ingest and hunt on a real Elasticsearch, beside
SQLite in the same run (the baseline), over the same generated day.

    .venv/bin/python -m bench.soc --backend elasticsearch [--events 1000000]

Starts the test server (tests/es/es_server.py, heap 1 GiB) unless ``SHUWEI_ES_URL`` names one.
Targets (issue 6): bulk ingest >= 15,000 events/s; hunt of the pack over 1M events <= 20 s.
"""

from __future__ import annotations

import os
import statistics
import time
import uuid
from pathlib import Path
from typing import Any

from bench.soc.run import _settings, _timed, measure_hunt, measure_ingest
from soc.config import rules_dir, soc_config
from soc.detection import Match, RulePack, hunt
from soc.detection.es_hunt import HuntStats, es_hunt
from soc.enrich import Enricher
from soc.store.es import EsAlertStore, EsConfig, EsEventStore, make_client
from soc.store.sqlite import SqliteAlertStore, SqliteEventStore
from soc.traffic import generate, seed_catalog
from soc.validate import parse_ts

TARGET_BULK = 15_000  # events/s into Elasticsearch
TARGET_HUNT = 20.0    # seconds, the pack over 1M events
TARGET_SIGNED = 0.90  # signed checkpoints keep >= 90% of the bulk throughput (issue 16)
CHUNK = 100_000
SIGNED_EVENTS, SIGNED_CHUNK = 300_000, 50_000


def _sig(m: Match) -> tuple[Any, ...]:
    return (m.rule_id, m.event_id, m.correlation, tuple(m.event_ids))


def _bulk(store: EsEventStore, events: list[dict[str, Any]]) -> tuple[float, float]:
    """The store's own bulk path (enriched events, batches, parallel requests): overall and
    median per-100k-chunk events/s."""
    rates = []
    t0 = time.perf_counter()
    for i in range(0, len(events), CHUNK):
        part = events[i:i + CHUNK]
        t = time.perf_counter()
        assert all(store.append(part))
        rates.append(len(part) / (time.perf_counter() - t))
    return len(events) / (time.perf_counter() - t0), statistics.median(rates)


def _signed_cost(root: Path, url: str, prefix: str, events: list[dict[str, Any]]) -> float:
    """Bulk into two fresh prefixes, one without and one with signed checkpoints (SM3 chain per
    index, Ed25519 every 10,000 events), chunk by chunk alternately; the ratio of the medians."""
    from crypto.keyring import Keyring
    from crypto.masterkey import LocalMasterKey
    from soc.integrity.checkpoints import KEY_ID, CheckpointKey, CheckpointPolicy, Signing

    keyring = Keyring(root / "bench-keyring.json", LocalMasterKey(os.urandom(32)))
    keyring.ensure(KEY_ID)
    signing = Signing(CheckpointKey(keyring), CheckpointPolicy(), root / "anchors")
    stores = {}
    suffix = {"without": "u", "with": "s"}
    for name, sign in (("without", None), ("with", signing)):
        cfg = EsConfig(url=url, index_prefix=prefix + suffix[name], replicas=0)
        stores[name] = EsEventStore(make_client(cfg), cfg, root / f"es-spool-{name}.db", signing=sign)
    print(f"\n[2b] bulk of {len(events):,} events without / with signed checkpoints "
          f"(alternating {SIGNED_CHUNK:,}-event chunks)", flush=True)
    rates: dict[str, list[float]] = {"without": [], "with": []}
    try:
        for n, i in enumerate(range(0, len(events), SIGNED_CHUNK)):
            part = events[i:i + SIGNED_CHUNK]
            for name in (("without", "with") if n % 2 == 0 else ("with", "without")):
                t = time.perf_counter()
                assert all(stores[name].append(part))
                rates[name].append(len(part) / (time.perf_counter() - t))
        stores["with"].checkpoint()
        t = time.perf_counter()
        report = stores["with"].verify()
        verify_s = time.perf_counter() - t
    finally:
        for name, store in stores.items():
            store.client.indices.delete(index=f"{prefix}{suffix[name]}-*")
            store.close()
    base, signed = statistics.median(rates["without"]), statistics.median(rates["with"])
    print(f"  median per chunk: without {base:,.0f}/s, with {signed:,.0f}/s; ratio {signed / base:.1%} "
          f"({report.signed} signed checkpoints; verify {'ok' if report.ok else 'FAILED'} over "
          f"{report.checked:,} events in {verify_s:.1f} s)")
    return signed / base


def run_es(root: Path, events: int, repeat: int, seed: int) -> int:
    server = None
    url = os.environ.get("SHUWEI_ES_URL")
    if not url:
        from tests.es import es_server

        es_server.HEAP = "1g"
        server = es_server.EsServer()
        t = time.perf_counter()
        server.start()
        url = server.url
        print(f"  Elasticsearch {es_server.ES_VERSION} started in {time.perf_counter() - t:.1f} s at {url}")
    try:
        return _run(root, url, events, repeat, seed)
    finally:
        if server is not None:
            server.cleanup()


def _run(root: Path, url: str, events: int, repeat: int, seed: int) -> int:
    print(f"bench/soc --backend elasticsearch: {events:,} benign events + attacks (seed {seed})", flush=True)
    traffic = _timed("generate", lambda: generate(events, seed=seed))
    settings = _settings(root / "sqlite")
    seed_catalog(settings)
    cfg = soc_config(settings)
    pack = RulePack.load(rules_dir(settings, cfg))
    print(f"  rule pack: {len(pack.rules)} rules, {len(pack.correlations)} correlations", flush=True)
    from classifier.catalog import Catalog

    enricher = Enricher(Catalog.open(settings), cfg.working_hours, cfg.timezone or settings.timezone)
    day = traffic.day
    for e in day:
        enricher.enrich(e, parse_ts(e["ts"]))
    results: list[tuple[str, str, bool]] = []

    print("\n[1] baseline: SQLite durable ingest (validate, enrich, WAL) and hunt", flush=True)
    store, alerts = SqliteEventStore.in_dir(root / "sqlite"), SqliteAlertStore.in_dir(root / "sqlite")
    sq_rate, sq_median, *_ = measure_ingest(store, alerts, settings, traffic.history, day)
    store.close()
    alerts.close()
    sq_hunts = [measure_hunt(pack, root / "sqlite" / "soc.db") for _ in range(max(1, min(repeat, 3)))]
    sq_hunt = statistics.median(h[0] for h in sq_hunts)
    sq_matches = [_sig(m) for m in hunt(pack, root / "sqlite" / "soc.db", backend="sqlite")]
    print(f"  ingest {sq_rate:,.0f} events/s (median per 100k {sq_median:,.0f}/s); "
          f"hunt median {sq_hunt:.1f} s, {len(sq_matches):,} matches")

    prefix = f"bench{uuid.uuid4().hex[:6]}"
    es_cfg = EsConfig(url=url, index_prefix=prefix, replicas=0)
    es_store = EsEventStore(make_client(es_cfg), es_cfg, root / "es-spool.db")
    try:
        print(f"\n[2] Elasticsearch bulk ingest of the enriched day (batch {es_cfg.batch_size}, "
              f"{es_cfg.workers} requests in flight)", flush=True)
        es_store.append(traffic.history)
        bulk_rate, bulk_median = _bulk(es_store, day)
        print(f"  {bulk_rate:,.0f} events/s overall, median per 100k chunk {bulk_median:,.0f}/s; "
              f"SQLite ingest in this run {sq_rate:,.0f}/s; ratio ES/SQLite {bulk_rate / sq_rate:.2f}x")
        results.append((f"ES bulk ingest >= {TARGET_BULK:,} events/s", f"{bulk_rate:,.0f}/s",
                        bulk_rate >= TARGET_BULK))

        ratio = _signed_cost(root, url, prefix, day[:SIGNED_EVENTS])
        results.append((f"ES bulk with signed checkpoints >= {TARGET_SIGNED:.0%} of bulk without",
                        f"{ratio:.1%}", ratio >= TARGET_SIGNED))

        print("\n[3] full ingest pipeline into Elasticsearch (validate, enrich, bulk; no detection)", flush=True)
        pipe_cfg = EsConfig(url=url, index_prefix=prefix + "p", replicas=0)
        pipe_store = EsEventStore(make_client(pipe_cfg), pipe_cfg, root / "es-spool-p.db")
        pipe_alerts = EsAlertStore(make_client(pipe_cfg), pipe_cfg)
        fresh = generate(events, seed=seed)  # un-enriched copies: the pipeline enriches itself
        p_rate, p_median, *_ = measure_ingest(pipe_store, pipe_alerts, settings, fresh.history, fresh.day)
        print(f"  {p_rate:,.0f} events/s overall, median per 100k chunk {p_median:,.0f}/s; "
              f"ratio to SQLite ingest {p_rate / sq_rate:.2f}x")
        pipe_store.client.indices.delete(index=f"{prefix}p-*")
        pipe_store.close()
        pipe_alerts.close()
        del fresh

        n = es_store.count()
        print(f"\n[4] hunt of the pack over {n:,} events in Elasticsearch", flush=True)
        times, stats = [], HuntStats()
        for _ in range(max(1, min(repeat, 3))):
            stats = HuntStats()
            t = time.perf_counter()
            es_matches = [_sig(m) for m in es_hunt(pack, es_store, stats=stats)]
            times.append(time.perf_counter() - t)
        es_s = statistics.median(times)
        same = sorted(es_matches) == sorted(sq_matches)
        print(f"  median {es_s:.1f} s ({', '.join(f'{x:.1f}' for x in times)}); {len(es_matches):,} matches, "
              f"{stats.candidates:,} candidates fetched, {stats.confirmed:,} confirmed; "
              f"SQLite hunt {sq_hunt:.1f} s, ratio ES/SQLite {es_s / sq_hunt:.2f}x; "
              f"same matches as SQLite: {same}")
        results.append((f"ES hunt of the pack over {n:,} events <= {TARGET_HUNT:.0f} s", f"{es_s:.1f} s",
                        es_s <= TARGET_HUNT))
        results.append(("ES hunt matches == SQLite hunt matches", str(same), same))
    finally:
        es_store.client.indices.delete(index=f"{prefix}-*")
        es_store.close()

    print("\nsummary")
    for name, figure, ok in results:
        print(f"  {'PASS' if ok else 'MISS'}  {name}: {figure}")
    return 0
