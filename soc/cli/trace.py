"""`shuwei trace FILE`: which recorded release a suspected leak came from (事后可追溯).

Reads CSV/TSV, JSON Lines, JSON arrays and xlsx; any subset of rows and columns, in any order.
The trace is audited (``api_call``, ``extra.operation: trace``); a ``traced`` verdict becomes the
SOC alert *Leak traced to a release* when the outbox is ingested.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer

from classifier import audit
from classifier.settings import Settings, get_settings
from classifier.whoami import current_user
from crypto.keys import ManagedKeys
from crypto.share import trace as tracing
from soc.cli.common import FormatOption, OutputFormat, print_json, print_table
from soc.cli.mask import guarded

COLUMNS = ["release_id", "at", "dataset", "user", "role", "org", "matched_rows", "p_value", "evidence"]


def run_trace(file: Path, dataset: Optional[str] = None, settings: Optional[Settings] = None) -> dict[str, Any]:
    """Trace ``file`` against the local ledger and record the audit event; the contract result."""
    settings = settings or get_settings()
    keys = ManagedKeys(settings, actor=current_user())

    def run() -> dict[str, Any]:
        records = tracing.read_leak(file)
        ledger = tracing.Ledger.load(settings.data_dir, tracing.keyring_material(keys.keyring), dataset=dataset)
        return tracing.trace(records, ledger)
    result = guarded(run)
    audit.emit(tracing.event(result, current_user(), extra={"file": file.name}), settings.data_dir)
    return result


def trace(
    file: Path = typer.Argument(..., help="the suspected leak: .csv, .tsv, .jsonl, .json or .xlsx"),
    dataset: Optional[str] = typer.Option(None, "--dataset", "-d", help="only releases of this dataset"),
    fmt: OutputFormat = FormatOption,
) -> None:
    """Name the releases a leaked file came from, with p-values (traced when p ≤ 1e-6)."""
    result = run_trace(file, dataset)
    if fmt is OutputFormat.json:
        print_json(result)
        return
    top = result["candidates"][0] if result["candidates"] else None
    if result["verdict"] == "traced" and top is not None:
        c = top["caller"]
        typer.echo(f"traced: {top['release_id']} to {c['org'] or '-'}/{c['role']}/{c['user']} at {top['at']} "
                   f"(p = {top['p_value']:.2g}; {result['rows_examined']} rows examined)")
    else:
        typer.echo(f"inconclusive: no release reaches p ≤ {tracing.THRESHOLD:g} "
                   f"({result['rows_examined']} rows examined, {result['releases_tested']} releases tested)")
    print_table([{**c, **c["caller"], "p_value": f"{c['p_value']:.2g}", "evidence": "; ".join(c["evidence"])}
                 for c in result["candidates"]], COLUMNS)
