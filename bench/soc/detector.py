"""bench/soc/detector: the detection child of ``soc ingest`` (soc/ingest_split.py), per stage.

``prep ROOT --events N`` generates the exchange day (soc/traffic.py), stores its history with
detection and then the day *without* detection (the durable half, as the split's parent runs
it), and keeps the batches the parent would have sent the child (``batches.pkl``) beside a copy
of the data directory at that point. ``run ROOT`` then copies that directory and drives the
child's own detection code over the batches in this process, timing each stage with thread CPU
time (``--profile`` adds cProfile). ``dump`` writes what detection left (alerts, cursor,
baselines, correlation fires) for comparing two builds: run it under each build's
``PYTHONPATH`` and diff the outputs (alert ids are made deterministic here).
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import os
import pickle
import shutil
import sqlite3
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any


def _settings(data_dir: Path) -> Any:
    from classifier.settings import get_settings

    os.environ["SHUWEI_DATA_DIR"] = str(data_dir)
    os.environ["SHUWEI_PLAYBOOK_DIR"] = str(data_dir.parent / "no-playbooks")
    get_settings.cache_clear()
    return get_settings()


def prep(root: Path, events: int, seed: int) -> None:
    from classifier import jsonl
    from soc.ingest import IngestPipeline
    from soc.traffic import generate, seed_catalog

    root.mkdir(parents=True, exist_ok=True)
    traffic = generate(events, seed=seed)
    day = root / "day.jsonl"
    day.write_bytes(b"".join(jsonl.dumps(e) + b"\n" for e in traffic.day))
    settings = _settings(root / "base")
    seed_catalog(settings)
    pipe = IngestPipeline.from_settings(settings, playbooks=False)
    pipe.ingest(traffic.history, origin="history")
    pipe.close()
    batches: list[Any] = []
    pipe = IngestPipeline.from_settings(settings, detection=False, playbooks=False)
    upto = pipe.store.last_seq()
    pipe.forward = lambda items, last, latest: batches.append((last, latest, items))
    pipe.ingest_file(day)
    pipe.close()
    with open(root / "batches.pkl", "wb") as fh:
        pickle.dump((upto, batches), fh)
    print(f"history {len(traffic.history):,}, day {len(traffic.day):,}, {len(batches)} batches; "
          f"detection resumes after seq {upto}")


class _Clock:
    """Thread CPU seconds per stage, by wrapping the callables the child's loop calls."""

    def __init__(self) -> None:
        self.spent: dict[str, float] = {}
        self.calls: dict[str, int] = {}

    def wrap(self, obj: Any, attr: str, name: str) -> None:
        fn = getattr(obj, attr)
        spent, calls, clock = self.spent, self.calls, time.thread_time
        spent.setdefault(name, 0.0)
        calls.setdefault(name, 0)

        def timed(*a: Any, **k: Any) -> Any:
            t = clock()
            try:
                return fn(*a, **k)
            finally:
                spent[name] += clock() - t
                calls[name] += 1
        setattr(obj, attr, timed)


def _deterministic_ids() -> None:
    counter = itertools.count()
    uuid.uuid4 = lambda: uuid.UUID(int=(next(counter) + 1) << 64)


def run(root: Path, work: Path, *, stages: bool, profile: str | None) -> dict[str, float]:
    from classifier import jsonl
    from classifier.gcpause import gc_paused
    from soc import ingest_split
    from soc.ingest import IngestPipeline, IngestResult

    with open(root / "batches.pkl", "rb") as fh:
        upto, batches = pickle.load(fh)
    n = sum(len(items) for _, _, items in batches)
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(root / "base", work / "base")
    settings = _settings(work / "base")
    _deterministic_ids()
    t0 = time.thread_time()
    pipe = IngestPipeline.from_settings(settings, detection=True, playbooks=True)
    startup = time.thread_time() - t0
    gc.freeze()
    clock = _Clock()
    if stages:
        assert pipe.detector is not None
        clock.wrap(jsonl, "loads_dumped", "decode")
        clock.wrap(pipe.detector, "process", "sigma+correlation")
        clock.wrap(pipe.detector.assembler.engine, "feed", "correlation")
        clock.wrap(pipe.anomaly, "process_batch", "anomaly")
        clock.wrap(pipe.share_watch, "process", "share watch")
        clock.wrap(pipe.alerts, "record", "alerts")
        clock.wrap(pipe.state, "checkpoint", "checkpoint")
    result, alerts = IngestResult(), dict[str, Any]()
    prof = None
    if profile:
        import cProfile

        prof = cProfile.Profile()
    t = time.thread_time()
    w = time.perf_counter()
    with pipe._lock, gc_paused():
        r = time.thread_time()
        pipe._resume(alerts, upto)  # the warm-up: windows refilled from the stored history
        resume = time.thread_time() - r
        if prof is not None:
            prof.enable()
        detect = ingest_split.BatchDetector(pipe, result, alerts)
        for last, latest, items in batches:  # what the child does per message
            detect.batch(items, last, latest)
        detect.finish()
        if prof is not None:
            prof.disable()
    total = time.thread_time() - t
    wall = time.perf_counter() - w
    pipe.close()
    if prof is not None and profile:
        prof.dump_stats(profile)
    out = {"events": n, "total_us": total / n * 1e6, "batches_us": (total - resume) / n * 1e6,
           "resume_s": resume, "wall_s": wall, "startup_s": startup,
           "alerts": len(alerts)}
    for name, s in clock.spent.items():
        out[name + "_us"] = s / n * 1e6
    return out


def dump(work: Path) -> dict[str, Any]:
    db = sqlite3.connect(work / "base" / "soc.db")
    alerts = []
    for (doc,) in db.execute("SELECT doc FROM alerts ORDER BY rowid"):
        a = json.loads(doc)
        for h in a.get("history", []):
            h.pop("at", None)
        alerts.append(a)
    cursor = db.execute("SELECT * FROM detection_cursor ORDER BY store").fetchall()
    fires = db.execute("SELECT store, fired_at, match FROM detection_fires ORDER BY id").fetchall()
    users = db.execute("SELECT user, state FROM anomaly_users ORDER BY user").fetchall()
    return {"alerts": alerts, "cursor": cursor, "fires": fires,
            "anomaly_users": [(u, json.loads(s)) for u, s in users]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("cmd", choices=["prep", "run", "dump"])
    ap.add_argument("root", type=Path)
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--work", type=Path, default=None)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--no-stages", action="store_true")
    ap.add_argument("--profile", default=None)
    ap.add_argument("--out", type=Path, default=None)
    a = ap.parse_args()
    work = a.work or a.root / f"work-{os.getpid()}"
    if a.cmd == "prep":
        prep(a.root, a.events, a.seed)
        return 0
    if a.cmd == "dump":
        run(a.root, work, stages=False, profile=None)
        text = json.dumps(dump(work), ensure_ascii=False, indent=1, sort_keys=True)
        (a.out or Path("/dev/stdout")).write_text(text)
        shutil.rmtree(work, ignore_errors=True)
        return 0
    runs = [run(a.root, work, stages=not a.no_stages, profile=a.profile) for _ in range(a.repeat)]
    shutil.rmtree(work, ignore_errors=True)
    import soc

    print(f"soc from {Path(soc.__file__).parent}; load {os.getloadavg()[0]:.2f}", file=sys.stderr)
    for k in runs[0]:
        vals = [r[k] for r in runs]
        print(f"  {k:22s} median {statistics.median(vals):10.2f}  all " + " ".join(f"{v:.2f}" for v in vals))
    return 0


if __name__ == "__main__":
    sys.exit(main())
