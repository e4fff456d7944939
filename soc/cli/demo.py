"""`shuwei demo`: the whole suite on generated sample data, as a list of steps.

Each area appends its step function to ``STEPS``; a step receives the shared context (settings,
sample paths, anything earlier steps leave) and prints what a user should see. Every step works in
ONE data directory, ``<data_dir>/demo``, recreated on each run, and every command the demo
suggests names it, so a hint works when pasted as printed.
"""

from __future__ import annotations

import shlex
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer

from classifier.errors import InputError
from classifier.settings import Settings, find_config_file, get_settings
from soc.cli.common import fail, print_table
from soc.cli.soc_demo import step_soc

Context = dict[str, Any]
DEMO_MARKER = ".shuwei-demo"


def demo_settings(base: Settings) -> Settings:
    """The demo's own data directory, emptied first; refuses a folder the demo did not create."""
    data_dir = base.data_dir.absolute() / "demo"
    if data_dir.exists() and any(data_dir.iterdir()) and not (data_dir / DEMO_MARKER).exists():
        fail(f"{data_dir} exists and was not created by `shuwei demo`; move it away or set "
             "SHUWEI_DATA_DIR to another place")
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    (data_dir / DEMO_MARKER).write_text("created by `shuwei demo`; recreated on each run\n", encoding="utf-8")
    return base.model_copy(update={"data_dir": data_dir})


def command_hint(settings: Settings) -> Callable[[str], str]:
    """``shuwei ARGS`` as a user must type it to reach the demo's data from the same folder."""
    prefix = f"SHUWEI_DATA_DIR={shlex.quote(str(settings.data_dir))}"
    key = settings.section("crypto").get("master_key_file")
    if key and Path(key).parent == settings.data_dir:  # the demo's own key (see _demo_master_key)
        prefix += f" SHUWEI_MASTER_KEY_FILE={shlex.quote(str(key))}"
    prefix += " shuwei"
    src = settings.source_file
    if src is not None and src.absolute() != (find_config_file() or Path()).absolute():
        prefix += f" --config {shlex.quote(str(src.absolute()))}"
    return lambda args: f"{prefix} {args}"


def step_samples(ctx: Context) -> None:
    """Generate the bundled sample datasets (deterministic, Faker zh_CN) under <data_dir>/samples."""
    from classifier.samples import write_samples  # Faker and the recognizers: only when the demo runs

    paths = write_samples(Path(ctx["settings"].data_dir) / "samples")
    ctx["samples"] = [f"sqlite:///{p}" if p.suffix == ".db" else str(p) for p in paths]
    typer.echo(f"== sample datasets in {paths[0].parent}: " + ", ".join(p.name for p in paths))


def step_classify(ctx: Context) -> None:
    """Scan every sample (forced, so the demo is repeatable) and print the graded catalog."""
    from classifier.scan import contract_object, run_scan  # heavy (Presidio); only the demo needs it

    outcomes = run_scan(ctx["samples"], ctx["settings"], force=True)
    ctx["catalog"] = [contract_object(o.report) for o in outcomes]
    typer.echo("\n== classification catalog (数据分类分级)")
    for obj in ctx["catalog"]:
        flag = "  重要数据候选" if obj["important_data_candidate"] else ""
        typer.echo(f"\n{obj['dataset']}  grade {obj['grade']}{flag}  ({obj['rows_total']} rows)")
        print_table([{"field": c["name"], "entity": c["entity"] or "-", "grade": c["grade"],
                      "category": c["category"] or "", "evidence": ", ".join(c["evidence"][:2])}
                     for c in obj["columns"]], ["field", "entity", "grade", "category", "evidence"])


def step_mask(ctx: Context) -> None:
    """Release three pop_basic records to two consumer roles through the masking engine (动态脱敏)."""
    import csv

    from crypto.engine import Caller, MaskingEngine

    source = next(Path(s) for s in ctx["samples"] if s.endswith("pop_basic.csv"))
    with open(source, newline="", encoding="utf-8") as fh:
        records = [row for _, row in zip(range(3), csv.DictReader(fh))]
    _demo_master_key(ctx)
    engine = MaskingEngine.from_settings(ctx["settings"])
    typer.echo("\n== dynamic desensitization (动态脱敏) of pop_basic, decided per field from the catalog")
    for role in ("analyst", "case_officer"):
        result = engine.mask("pop_basic", Caller(user="demo", role=role, purpose="demo"), records)
        fields = list(result.records[0])
        typer.echo(f"\nreleased to role {role}:")
        print_table(result.records, fields)
        typer.echo("decisions: " + "; ".join(f"{f}: {d['strategy']}" for f, d in result.decisions.items()))
    _mask_nested(ctx, engine, Caller)
    _trace_leak(ctx, engine, source)


def _demo_master_key(ctx: Context) -> None:
    """Watermarks need the keyring: without a configured master key the demo makes its own, in
    its data directory (mode 0600, named by the demo's settings) and in the commands it suggests."""
    import os
    import secrets

    from crypto.masterkey import MASTER_KEY_ENV, MASTER_KEY_FILE_ENV

    settings = ctx["settings"]
    if os.environ.get(MASTER_KEY_ENV) or os.environ.get(MASTER_KEY_FILE_ENV) or \
            settings.section("crypto").get("master_key_file"):
        return
    path = Path(settings.data_dir) / "master.key"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(secrets.token_hex(32) + "\n")
    ctx["settings"] = settings.model_copy(update={"crypto": {**settings.section("crypto"),
                                                             "master_key_file": str(path)}})
    ctx["hint"] = command_hint(ctx["settings"])


def _trace_leak(ctx: Context, engine: Any, source: Path) -> None:
    """Export pop_basic to two recipients; 50 rows of one turn up as a spreadsheet; trace them."""
    import csv
    import random

    from openpyxl import Workbook

    from crypto.engine import Caller
    from crypto.static import mask_file
    from soc.cli.trace import run_trace

    out = Path(ctx["settings"].data_dir) / "exports"
    out.mkdir(exist_ok=True)
    typer.echo("\n== leak tracing (事后可追溯): pop_basic exported to two recipients, each copy watermarked")
    exports = {}
    for org, role in (("市卫健委", "analyst"), ("市医保局", "auditor")):
        dst = out / f"pop_basic_{role}.csv"
        report = mask_file(engine, source, dst, Caller(user=f"demo-{role}", role=role, org=org, purpose="demo"),
                           force=True)
        exports[org] = dst
        typer.echo(f"  {report['release_id']} → {org}/{role}: {report['rows']} rows, "
                   f"{report['watermark']['canaries']} canaries, marks {report['watermark']['utility']}")
    with open(exports["市医保局"], newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    leak = out / "found_on_a_forum.xlsx"
    book = Workbook()
    sheet = book.active
    assert sheet is not None  # a new workbook opens on one worksheet
    columns = ["公民身份号码", "性别", "登记日期"]
    sheet.append(columns)
    for row in random.Random(12).sample(rows, 50):
        sheet.append([row[c] for c in columns])
    book.save(leak)
    result = run_trace(leak, settings=ctx["settings"])
    best = result["candidates"][0] if result["candidates"] else None
    typer.echo(f"  leaked: 50 random rows, 3 of {len(rows[0])} columns, as xlsx ({leak.name})")
    if best is not None:
        c = best["caller"]
        typer.echo(f"  verdict {result['verdict']}: {best['release_id']} → {c['org']}/{c['role']} "
                   f"(p = {best['p_value']:.1e}; {', '.join(best['evidence'])})")
    typer.echo("  trace it yourself: " + ctx["hint"](f"trace {shlex.quote(str(leak))}"))


def _mask_nested(ctx: Context, engine: Any, caller: Any) -> None:
    """Nested 办件 records: one decision per path, remarks masked span by span (in-text masking)."""
    import json

    source = next((Path(s) for s in ctx["samples"] if s.endswith("banjian.jsonl")), None)
    if source is None:
        return
    with open(source, encoding="utf-8") as fh:
        head = [json.loads(line) for _, line in zip(range(50), fh)]
    # three with identifiers in the remark, one without: in-text masking shows
    records = [r for r in head if "联系电话" in r["remark"] or "身份证号" in r["remark"]][:3] + \
        [r for r in head if "号转办" in r["remark"]][:1]
    result = engine.mask("banjian", caller(user="demo", role="analyst", purpose="demo"), records)
    typer.echo("\n== nested 办件 records released to role analyst (paths decided one by one; "
               "free text masked in place)")
    for rec in result.records:
        typer.echo(json.dumps(rec, ensure_ascii=False))
    typer.echo("decisions: " + "; ".join(
        f"{f}: {d['strategy']}" + (f" {d['spans']}" if d.get("spans") else "")
        for f, d in result.decisions.items() if d["strategy"] != "keep"))


def step_evidence(ctx: Context) -> None:
    """The compliance officer's view of the demo's data: every 测评项 judged, then a signed evidence
    pack written and verified (soc/evidence/pack.py)."""
    from soc.evidence.pack import build_pack, verify_pack, write_pack
    from soc.evidence.scope import make_scope

    _demo_master_key(ctx)
    settings, hint = ctx["settings"], ctx["hint"]
    first, last = _trail_days(settings)  # the generated traffic's days, not the 180 days up to today
    period = f"--from {first} --to {last}" if first else ""
    pack = build_pack(settings, make_scope(settings, start=first, end=last))
    s = pack.report["summary"]
    typer.echo(f"\n== graded-protection evidence (等保 2.0 / 密评): {s['items']} 测评项 — "
               + ", ".join(f"{j} {s[j]}" for j in ("符合", "部分符合", "不符合", "不适用")))
    print_table(pack.report["items"], ["judgement", "item", "clause", "reason"])
    out = Path(settings.data_dir) / "evidence" / "pack.zip"
    write_pack(pack, out)
    result = verify_pack(out)
    typer.echo(f"evidence pack {out}: {len(pack.files)} files, {pack.pdf_note}; verify: "
               + ("ok, Ed25519 and SM2 signatures verify" if result.ok else "; ".join(result.problems)))
    typer.echo("check: " + hint(f"evidence check {period}".strip()))
    typer.echo("verify: " + hint(f"evidence verify {shlex.quote(str(out))}"))


def _trail_days(settings: Settings) -> tuple[str | None, str | None]:
    """First and last calendar day (configured zone) of the stored audit trail, if any."""
    from zoneinfo import ZoneInfo

    from classifier.dates import parse_rfc3339
    from soc.ingest import IngestPipeline

    tz = ZoneInfo(settings.timezone)
    pipe = IngestPipeline.from_settings(settings, detection=False, playbooks=False)
    try:
        days = {parse_rfc3339(e["ts"]).astimezone(tz).date().isoformat() for e in pipe.store.iter_events()}
    finally:
        pipe.close()
    return (min(days), max(days)) if days else (None, None)


def step_next(ctx: Context) -> None:
    """Where the demo's data is, and the commands that read it as printed."""
    hint = ctx["hint"]
    typer.echo(f"\n== the demo's data: {ctx['settings'].data_dir} (recreated by each `shuwei demo`)")
    for args in ("classify list", "classify show pop_basic", "soc alerts --severity critical"):
        typer.echo(f"  {hint(args)}")


STEPS: list[Callable[[Context], None]] = [step_samples, step_classify, step_mask]
STEPS.append(step_soc)  # soc: a day of exchange traffic with injected attacks (soc/cli/soc_demo.py)
STEPS.append(step_evidence)
STEPS.append(step_next)


def demo(
    serve: bool = typer.Option(False, "--serve", help="end by leaving the HTTP service running on the "
                               "demo data, with an API key per role"),
    host: str = typer.Option("127.0.0.1", "--host", help="with --serve: address to bind"),
    port: int = typer.Option(8080, "--port", help="with --serve: TCP port"),
) -> None:
    """Run every step in order on the embedded default, in <data_dir>/demo (recreated each run)."""
    settings = demo_settings(get_settings())
    ctx: Context = {"settings": settings, "hint": command_hint(settings)}
    try:
        for step in STEPS:
            step(ctx)
    except InputError as exc:
        fail(str(exc))
    if serve:
        from soc.service.demo import serve_demo

        serve_demo(ctx, host, port)
