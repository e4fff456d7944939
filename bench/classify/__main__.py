"""Benchmark: Shuwei's column engine vs stock Presidio per cell and presidio-structured, same data.

    .venv/bin/python -m bench.classify [--rows 1000000] [--repeat 3]

Prints measured figures (medians), baselines, ratios, column-level F1 and PASS/MISS per target.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import pyarrow.csv as pacsv

from bench.classify.data import LABELS, ensure_csv
from classifier.analyzer import build_analyzer
from classifier.recognizers.base import LANGUAGE

N_COLUMNS = len(LABELS)


def f1(predicted: dict[str, str | None]) -> float:
    """Column-level F1 over entity columns: a wrong entity is both a false positive and a miss."""
    tp = sum(1 for c, e in LABELS.items() if e and predicted.get(c) == e)
    fp = sum(1 for c, p in predicted.items() if p and p != LABELS[c])
    fn = sum(1 for c, e in LABELS.items() if e and predicted.get(c) != e)
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def run_child(mode: str, path: Path) -> tuple[dict, float]:
    """(child's JSON result: wall and CPU seconds of the scan, its peak RSS in MiB)."""
    with tempfile.TemporaryDirectory() as data_dir:
        proc = subprocess.Popen([sys.executable, "-m", "bench.classify.child", mode, str(path), data_dir],
                                stdout=subprocess.PIPE)
        out = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode:
            raise SystemExit(f"child {mode} scan failed ({proc.returncode})")
    return json.loads(out), usage.ru_maxrss / 1024


def head_rows(path: Path, rows: int) -> dict[str, list[str]]:
    table = pacsv.read_csv(path, read_options=pacsv.ReadOptions(block_size=1 << 20),
                           convert_options=pacsv.ConvertOptions(column_types={c: "string" for c in LABELS}))
    return {c: table[c].slice(0, rows).to_pylist() for c in LABELS}


def per_cell_baseline(data: dict[str, list[str]]) -> tuple[float, dict[str, str | None]]:
    """Stock AnalyzerEngine.analyze on every cell; a column takes the entity found in ≥ 50% of cells."""
    engine = build_analyzer()
    engine.analyze("warm up 13812345678", language=LANGUAGE)
    predicted: dict[str, str | None] = {}
    cells = 0
    start, cpu = time.perf_counter(), time.process_time()
    for column, values in data.items():
        votes: Counter[str] = Counter()
        for value in values:
            results = engine.analyze(value, language=LANGUAGE)
            cells += 1
            if results:
                votes[max(results, key=lambda r: r.score).entity_type] += 1
        top = votes.most_common(1)
        predicted[column] = top[0][0] if top and top[0][1] >= 0.5 * len(values) else None
    return cells / (time.perf_counter() - start), cells / (time.process_time() - cpu), predicted


def structured_baseline(data: dict[str, list[str]]) -> tuple[float, dict[str, str | None]]:
    import pandas as pd
    from presidio_structured import PandasAnalysisBuilder

    df = pd.DataFrame(data)
    builder = PandasAnalysisBuilder(analyzer=build_analyzer())
    start, cpu = time.perf_counter(), time.process_time()
    analysis = builder.generate_analysis(df, language=LANGUAGE)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    mapping = analysis.entity_mapping
    return df.size / seconds, df.size / cpu, {c: mapping.get(c) for c in LABELS}


def _runs(results: list[tuple[dict, float]]) -> str:
    return ", ".join(f"{r['seconds']:.2f}" for r, _ in results)


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.classify", description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each Shuwei scan (median)")
    parser.add_argument("--cell-rows", type=int, default=150, help="rows of the per-cell baseline subset")
    parser.add_argument("--structured-rows", type=int, default=200, help="rows of the presidio-structured subset")
    args = parser.parse_args()

    t0 = time.perf_counter()
    path = ensure_csv(args.rows)
    print(f"data: {path} ({path.stat().st_size / 1e6:.0f} MB, {args.rows:,} rows × {N_COLUMNS} columns; "
          f"ready in {time.perf_counter() - t0:.1f} s)")
    cells = args.rows * N_COLUMNS

    sampled = [run_child("sample", path) for _ in range(args.repeat)]
    full = [run_child("full", path) for _ in range(args.repeat)]
    sample_s = statistics.median(r["seconds"] for r, _ in sampled)
    full_s = statistics.median(r["seconds"] for r, _ in full)
    full_cps = cells / full_s
    full_cpu_cps = cells / statistics.median(r["cpu"] for r, _ in full)
    peak_rss = max(rss for _, rss in sampled + full)
    shuwei_f1 = f1(full[0][0]["entities"])
    sample_f1 = f1(sampled[0][0]["entities"])

    cell_cps, cell_cpu_cps, cell_pred = per_cell_baseline(head_rows(path, args.cell_rows))
    struct_cps, struct_cpu_cps, struct_pred = structured_baseline(head_rows(path, args.structured_rows))
    ratio = full_cps / cell_cps

    print(f"\nShuwei sampled scan   : median {sample_s:.2f} s over {args.repeat} runs "
          f"(runs: {_runs(sampled)}), column F1 {sample_f1:.3f}")
    print(f"Shuwei --full         : median {full_s:.2f} s = {full_cps:,.0f} cells/s "
          f"(runs: {_runs(full)}), column F1 {shuwei_f1:.3f}")
    print(f"Shuwei --full per CPU : {full_cpu_cps:,.0f} cells per CPU-second (load-independent)")
    print(f"Shuwei peak RSS       : {peak_rss:,.0f} MiB (max over all runs)")
    print(f"Presidio per cell     : {cell_cps:,.0f} cells/s ({cell_cpu_cps:,.0f} per CPU-s) on {args.cell_rows * N_COLUMNS:,} cells, "
          f"column F1 {f1(cell_pred):.3f}")
    print(f"presidio-structured   : {struct_cps:,.0f} cells/s ({struct_cpu_cps:,.0f} per CPU-s) on {args.structured_rows * N_COLUMNS:,} cells, "
          f"column F1 {f1(struct_pred):.3f}")
    print(f"ratio Shuwei --full / per-cell: {ratio:,.0f}× wall, {full_cpu_cps / cell_cpu_cps:,.0f}× CPU;  "
          f"/ structured: {full_cps / struct_cps:,.0f}× wall, {full_cpu_cps / struct_cpu_cps:,.0f}× CPU")
    wrong = {c: (cell_pred[c], struct_pred[c]) for c in LABELS if cell_pred[c] != LABELS[c] or struct_pred[c] != LABELS[c]}
    print("baseline column errors (per-cell, structured):", json.dumps(wrong, ensure_ascii=False))

    print("\ntargets:")
    print(f"  sampled scan ≤ 10 s          {sample_s:8.2f} s        {verdict(sample_s <= 10)}")
    print(f"  --full ≥ 250,000 cells/s     {full_cps:12,.0f}    {verdict(full_cps >= 250_000)}")
    print(f"  peak RSS ≤ 1.5 GB            {peak_rss:8.0f} MiB      {verdict(peak_rss <= 1536)}")
    print(f"  --full ≥ 100× per-cell       {ratio:10,.0f}×      {verdict(ratio >= 100)}")
    print(f"  F1 Shuwei ≥ baselines        {shuwei_f1:.3f} vs {f1(cell_pred):.3f} / {f1(struct_pred):.3f}  "
          f"{verdict(shuwei_f1 >= max(f1(cell_pred), f1(struct_pred)))}")


if __name__ == "__main__":
    main()
