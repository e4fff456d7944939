"""Detection state across restarts: how long the warm-up after a restart takes, and what keeping
the state costs ingest (soc/detection_state.py, issue 16).

    .venv/bin/python -m bench.soc.warmup [--events 200000] [--cut 0.5] [--repeat 3]

A generated day (plus its history) is ingested with the full pipeline up to ``--cut`` of the
file, as if the process had been killed there. Measured, medians of ``--repeat``:
- start without the state (rules, anomaly detectors, stores: what every start costs);
- the warm-up of a new pipeline: the stored events of the last longest correlation timespan put
  back through the base rules, the correlation matches restored;
then the next ``--slice`` events are ingested from copies of that store, alternately with the
state and with it switched off (the baseline, same run), for the cost per batch of keeping it.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from bench.soc.run import _settings
from soc.ingest import IngestPipeline
from soc.traffic import generate, seed_catalog


def _pipeline(data_dir: Path, *, state: bool = True) -> IngestPipeline:
    pipe = IngestPipeline.from_settings(_settings(data_dir), playbooks=False)
    if not state:
        pipe.state = None
    return pipe


def _ingest(data_dir: Path, events: list[dict[str, Any]], *, state: bool = True) -> float:
    """Seconds to ingest ``events`` once the pipeline has started (and warmed up)."""
    pipe = _pipeline(data_dir, state=state)
    try:
        pipe.ingest([], origin="bench")
        t = time.perf_counter()
        res = pipe.ingest(events, origin="bench")
        assert not res.rejected, res.rejected[:3]
        return time.perf_counter() - t
    finally:
        pipe.close()


def run(events: int, cut: float, repeat: int, seed: int, slice_events: int) -> int:
    traffic = generate(events, seed=seed)
    stream = traffic.history + traffic.day
    stop = int(len(stream) * cut)
    root = Path(tempfile.mkdtemp(prefix="shuwei-bench-warmup-"))
    try:
        first = root / "first"
        seed_catalog(_settings(first))
        print(f"[warm-up] {len(stream):,} events ({events:,} of the day + history), the process "
              f"stopped after {stop:,} (event time {stream[stop - 1]['ts']})", flush=True)
        t = time.perf_counter()
        _ingest(first, stream[:stop])
        print(f"  first part ingested with detection in {time.perf_counter() - t:.1f} s", flush=True)
        for i in range(repeat):
            for name in ("with", "without"):
                shutil.copytree(first, root / f"{name}{i}")

        starts, warmups, replayed, restored, span = [], [], 0, 0, 0.0
        for _ in range(repeat):
            t = time.perf_counter()
            pipe = _pipeline(first)
            starts.append(time.perf_counter() - t)
            assert pipe.state is not None
            t = time.perf_counter()
            pipe.ingest([], origin="bench")  # the first ingest call resumes: the warm-up
            warmups.append(time.perf_counter() - t)
            replayed, restored = pipe.state.last_warmup.replayed, pipe.state.last_warmup.restored
            span = pipe.state.span
            pipe.close()
        start_s, warm_s = statistics.median(starts), statistics.median(warmups)
        print(f"  pipeline start without the state (rules, anomaly detectors, stores; imports done): "
              f"median {start_s:.2f} s")
        print(f"  warm-up: {replayed:,} stored events replayed (the last {span / 3600:g} h of event "
              f"time: the longest correlation timespan), {restored} correlation matches restored: "
              f"median {warm_s:.2f} s ({replayed / warm_s:,.0f} events/s); "
              f"ratio warm-up / start {warm_s / start_s:.2f}")

        rest = stream[stop:stop + slice_events]
        with_s, without_s = [], []
        for i in range(repeat):  # alternated: the machine's load drifts
            with_s.append(_ingest(root / f"with{i}", rest))
            without_s.append(_ingest(root / f"without{i}", rest, state=False))
        w, wo = statistics.median(with_s), statistics.median(without_s)
        print(f"  next {len(rest):,} events with detection: median {len(rest) / w:,.0f} events/s "
              f"keeping the state, baseline {len(rest) / wo:,.0f} events/s without it; "
              f"ratio {wo / w:.2f}")
        print(f"  (measured {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC)")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.soc.warmup", description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", type=int, default=200_000, help="benign events of the day")
    ap.add_argument("--cut", type=float, default=0.5, help="share of the file stored before the stop")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--slice", type=int, default=50_000, help="events ingested after the stop, per run")
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args(argv)
    return run(args.events, args.cut, args.repeat, args.seed, args.slice)


if __name__ == "__main__":
    sys.exit(main())
