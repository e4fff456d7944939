"""bench/soc --corpus: the SigmaHQ corpus loaded whole, against the "Zircolite way".

    .venv/bin/python -m bench.soc --corpus ../shared/sigmahq [--windows-events 20000]

[1] corpus load (parse, compile, index) and its memory; [2] hunt over Windows-style events,
in memory, against every rule converted by the plain pySigma sqlite backend and run as one
query each over one flat table (what Zircolite does), measured in the same run; [3] streaming
the exchange traffic with the shipped pack alone and with the corpus loaded beside it.
"""

from __future__ import annotations

import gc
import os
import shutil
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

from bench.soc.windows_events import generate as windows_events
from soc.detection import RulePack, StreamingDetector, hunt
from soc.detection.logsource import EXCHANGE
from soc.detection.pack import detection_leaves
from soc.detection.sqlbackend import register_functions

TARGET_LOAD = 10.0         # seconds, whole corpus
TARGET_HUNT_RATIO = 5.0    # memory hunt vs the Zircolite way
TARGET_STREAM = 30_000     # events/s, exchange traffic with pack + corpus
QUERY_LIMIT = 30.0         # seconds one baseline query may run before it is cut off


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def _fields(pack: RulePack) -> set[str]:
    """Every field a rule of the pack names (the flat table needs a column for each)."""
    return {node.field for rule in pack.rules for node in detection_leaves(rule) if getattr(node, "field", None)}


def zircolite_way(pack: RulePack, events: list[dict[str, Any]]) -> tuple[float, float, int, int, int]:
    """(conversion s, query s, queries, failed, cut off): pySigma-backend-sqlite converts every
    rule; each query runs on its own over one table with a NOCASE text column per field."""
    from sigma.backends.sqlite import sqliteBackend

    t = time.perf_counter()
    backend = sqliteBackend(collect_errors=True, collate_nocase=True)
    queries = [q for q in backend.convert(pack.collection) if isinstance(q, str)]
    convert_s = time.perf_counter() - t
    failed = len(backend.errors)
    columns = list({c.lower(): c for c in sorted(_fields(pack) | {k for e in events for k in e},
                                                 reverse=True)}.values())  # SQLite: names are caseless
    conn = sqlite3.connect(":memory:")
    register_functions(conn)
    quoted = ", ".join('"' + c.replace('"', '""') + '" COLLATE NOCASE' for c in columns)
    conn.execute(f"CREATE TABLE logs (row_id INTEGER PRIMARY KEY, {quoted})")
    marks = ", ".join("?" * len(columns))
    names = ", ".join('"' + c.replace('"', '""') + '"' for c in columns)
    conn.executemany(f"INSERT INTO logs ({names}) VALUES ({marks})",
                     ([e.get(c) for c in columns] for e in events))
    deadline = [0.0]
    conn.set_progress_handler(lambda: int(time.perf_counter() > deadline[0]), 100_000)
    cut = 0
    t0, c0 = time.perf_counter(), time.process_time()
    for q in queries:
        deadline[0] = time.perf_counter() + QUERY_LIMIT
        try:
            conn.execute(q).fetchall()
        except sqlite3.Error as exc:
            if "interrupted" in str(exc):
                cut += 1
            else:
                failed += 1
    query_s = time.perf_counter() - t0
    print(f"  (Zircolite way: {time.process_time() - c0:.1f} CPU-s of queries)")
    conn.close()
    return convert_s, query_s, len(queries), failed, cut


def _exchange_day(root: Path, n: int, seed: int) -> list[dict[str, Any]]:
    """The generated exchange day, enriched as ingest would (bench/soc/run.py does the same)."""
    from bench.soc.run import _settings
    from classifier.catalog import Catalog
    from soc.config import soc_config
    from soc.enrich import Enricher
    from soc.traffic import generate, seed_catalog
    from soc.validate import parse_ts

    settings = _settings(root)
    seed_catalog(settings)
    cfg = soc_config(settings)
    enricher = Enricher(Catalog.open(settings), cfg.working_hours, cfg.timezone or settings.timezone)
    day = generate(n, seed=seed).day
    for e in day:
        enricher.enrich(e, parse_ts(e["ts"]))
    return day


def _stream_rate(pack: RulePack, events: list[dict[str, Any]], repeat: int,
                 logsource: Any) -> tuple[float, float, int]:
    """Median events/s (wall clock, and per CPU-second of this process) and the match count."""
    rates, cpu_rates, matches = [], [], 0
    for _ in range(repeat):
        det = StreamingDetector(pack, logsource=logsource)
        t, c = time.perf_counter(), time.process_time()
        matches = sum(len(det.process(e, i)) for i, e in enumerate(events, 1))
        rates.append(len(events) / (time.perf_counter() - t))
        cpu_rates.append(len(events) / (time.process_time() - c))
    return statistics.median(rates), statistics.median(cpu_rates), matches


def run_corpus(corpus: Path, n_windows: int, n_exchange: int, repeat: int, seed: int) -> int:
    if not corpus.is_dir():
        print(f"bench/soc: {corpus}: no such corpus directory")
        return 2
    print(f"bench/soc --corpus {corpus}: {os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.1f}", flush=True)
    proc = psutil.Process()
    results: list[tuple[str, str, bool]] = []

    print("\n[1] load the whole corpus (parse with pySigma, compile, index): cold = YAML parsed, "
          "warm = documents from the cache (soc/detection/doccache.py)", flush=True)
    cache = tempfile.mkdtemp(prefix="shuwei-bench-doccache-")
    os.environ["SHUWEI_RULE_CACHE"] = cache
    walls: dict[str, list[float]] = {"cold": [], "warm": []}
    cpus: dict[str, list[float]] = {"cold": [], "warm": []}
    pack, rss = RulePack(), 0
    try:
        for i in range(1 + max(2, repeat)):
            mode = "cold" if i == 0 else "warm"
            del pack
            gc.collect()
            before = proc.memory_info().rss
            t, c = time.perf_counter(), time.process_time()
            pack = RulePack.load(corpus)
            StreamingDetector(pack)._index(None)
            walls[mode].append(time.perf_counter() - t)
            cpus[mode].append(time.process_time() - c)
            rss = max(rss, proc.memory_info().rss - before)  # the first load: RSS rarely shrinks
    finally:
        del os.environ["SHUWEI_RULE_CACHE"]
        shutil.rmtree(cache, ignore_errors=True)
    files = len({*pack.paths.values(), *(e.path for e in pack.errors)})
    load_s = statistics.median(walls["cold"])
    print(f"  {len(pack.rules):,} rules, {len(pack.correlations)} correlations, "
          f"{len(pack.filters)} filters loaded from {files:,} files; {len(pack.errors)} "
          f"reported; cold {load_s:.1f} s wall, {statistics.median(cpus['cold']):.1f} CPU-s; "
          f"warm median {statistics.median(walls['warm']):.1f} s wall, "
          f"{statistics.median(cpus['warm']):.1f} CPU-s; memory +{rss / 2**20:,.0f} MiB RSS")
    results.append((f"corpus load <= {TARGET_LOAD:.0f} s (cold)", f"{load_s:.1f} s", load_s <= TARGET_LOAD))

    print(f"\n[2] hunt over {n_windows:,} Windows-style events, whole corpus", flush=True)
    events = windows_events(n_windows, seed=seed)
    hunts, hunt_cpu = [], []
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        res = hunt(pack, events)
        hunts.append(time.perf_counter() - t)
        hunt_cpu.append(time.process_time() - c)
    hunt_s = statistics.median(hunts)
    print(f"  memory hunt: median {hunt_s:.1f} s wall, {statistics.median(hunt_cpu):.1f} CPU-s "
          f"({n_windows / hunt_s:,.0f} events/s), "
          f"{len(res):,} matches of {len({m.rule_id for m in res})} rules, "
          f"{len(res.errors)} rules not run (reported)", flush=True)
    convert_s, query_s, nq, nfail, ncut = zircolite_way(pack, events)
    lower = " (lower bound: queries cut off)" if ncut else ""
    ratio = query_s / hunt_s
    print(f"  Zircolite way (pySigma-backend-sqlite, one query per rule, one flat table): "
          f"{query_s:.1f} s of queries{lower} + {convert_s:.1f} s conversion; {nq:,} queries, "
          f"{nfail} failed, {ncut} cut off at {QUERY_LIMIT:.0f} s")
    print(f"  ratio {ratio:.1f}x (queries only; {(query_s + convert_s) / hunt_s:.1f}x with conversion)")
    results.append((f"hunt >= {TARGET_HUNT_RATIO:.0f}x the Zircolite way", f"{ratio:.1f}x",
                    ratio >= TARGET_HUNT_RATIO))

    print(f"\n[3] streaming {n_exchange:,} exchange events (labelled product=shuwei, "
          f"category=exchange_audit)", flush=True)
    root = Path(tempfile.mkdtemp(prefix="shuwei-bench-corpus-"))
    try:
        day = _exchange_day(root, n_exchange, seed)
        from soc.config import rules_dir, soc_config
        from classifier.settings import get_settings

        shipped = rules_dir(get_settings(), soc_config(get_settings()))
        alone = RulePack.load(shipped)
        both = RulePack.load([shipped, corpus])
        gc.freeze()
        rate_alone, cpu_alone, m_alone = _stream_rate(alone, day, repeat, EXCHANGE)
        rate_both, cpu_both, m_both = _stream_rate(both, day, repeat, EXCHANGE)
        print(f"  shipped pack alone ({len(alone.rules)} base rules): median {rate_alone:,.0f} "
              f"events/s ({cpu_alone:,.0f} per CPU-second), {m_alone:,} matches")
        print(f"  pack + corpus ({len(both.rules):,} base rules): median {rate_both:,.0f} events/s "
              f"({cpu_both:,.0f} per CPU-second), {m_both:,} matches; ratio "
              f"{rate_both / rate_alone:.2f} of the pack alone")
        results.append((f"streaming pack + corpus >= {TARGET_STREAM:,} events/s",
                        f"{rate_both:,.0f}/s", rate_both >= TARGET_STREAM))
    finally:
        shutil.rmtree(root, ignore_errors=True)

    print(f"\nload average now {os.getloadavg()[0]:.1f}")
    for name, figure, ok in results:
        print(f"  {_verdict(ok)}  {name}: {figure}")
    return 0
