"""`shuwei classify` subcommands: scan, list, show, review, drift."""

from __future__ import annotations

from typing import Optional

import typer

from classifier.catalog import Catalog
from classifier.errors import InputError
from classifier.settings import get_settings
from soc.cli.common import EXIT_FINDINGS, OutputFormat, fail, print_json, print_table

app = typer.Typer(no_args_is_help=True)

FORMAT = typer.Option(OutputFormat.table, "--format", "-f", help="json or table")


def _catalog() -> Catalog:
    try:
        return Catalog.open(get_settings())
    except InputError as exc:
        fail(str(exc))


def _print_dataset(obj: dict, note: str = "") -> None:
    flag = "  重要数据候选 (important data candidate)" if obj["important_data_candidate"] else ""
    typer.echo(f"\n{obj['dataset']}  grade {obj['grade']}{flag}  ({obj['source']}; "
               f"{obj['rows_scanned']} of {obj['rows_total']} rows checked){note}")
    print_table([{**c, "evidence": ", ".join(c["evidence"]), "reasons": "; ".join(c["reasons"]),
                  "entity": c["entity"] or "-"} for c in obj["columns"]],
                ["name", "entity", "grade", "category", "confidence", "hit_ratio", "evidence", "reasons"])


@app.command("scan")
def scan(
    sources: list[str] = typer.Argument(..., help="files (csv, tsv, jsonl, json, parquet, xlsx) or "
                                        "SQLAlchemy URLs (sqlite:///x.db, sqlite:///x.db#table)"),
    fmt: OutputFormat = FORMAT,
    full: bool = typer.Option(False, "--full", help="check every cell instead of a sample"),
    force: bool = typer.Option(False, "--force", help="re-scan even when the source is unchanged"),
    sample: Optional[int] = typer.Option(None, "--sample", min=10,
                                         help="sample size in rows (default: classify.sample_size, 3000)"),
) -> None:
    """Classify and grade every field of each dataset and record the scan in the catalog."""
    from classifier.scan import contract_object, run_scan  # Presidio+spaCy: ~2 s, only when scanning

    try:
        outcomes = run_scan(sources, get_settings(), full=full, force=force, sample_size=sample)
    except InputError as exc:
        fail(f"{exc} (nothing was recorded)")
    objects = [contract_object(o.report) for o in outcomes]
    for o in outcomes:
        if o.skipped:
            typer.echo(f"{o.report['dataset']}: unchanged since the last scan, skipped "
                       "(--force to re-scan)", err=True)
    if fmt is OutputFormat.json:
        print_json(objects)
        return
    for obj, o in zip(objects, outcomes):
        _print_dataset(obj, "  [unchanged, from catalog]" if o.skipped else "")


@app.command("list")
def list_datasets(fmt: OutputFormat = FORMAT,
                  limit: Optional[int] = typer.Option(None, "--limit", min=1, help="at most N datasets")) -> None:
    """Every dataset in the catalog with its effective (reviewed-wins) grade."""
    rows = _catalog().list_datasets()[:limit]
    if fmt is OutputFormat.json:
        print_json(rows)
    else:
        print_table(rows, ["dataset", "grade", "important_data_candidate", "columns", "sensitive_columns",
                           "reviewed_columns", "drift", "rows_total", "scanned_at", "source"])


@app.command("show")
def show(dataset: str = typer.Argument(..., help="dataset id (file name without extension, or table)"),
         fmt: OutputFormat = FORMAT) -> None:
    """The effective classification of one dataset: reviews applied, drift flagged, scan history."""
    data = _catalog().show(dataset)
    if data is None:
        fail(f"{dataset}: unknown dataset (scan it first)")
    if fmt is OutputFormat.json:
        print_json(data)
        return
    from classifier.scan import contract_object

    _print_dataset(contract_object(data))
    typer.echo("\nprofiles:")
    print_table([{"name": c["name"], **(c.get("profile") or {}),
                  "reviewed": c.get("review", {}).get("reviewer", "") if c["reviewed"] else "",
                  "drift": "DRIFT" if c["drift"] else ""} for c in data["columns"]],
                ["name", "type", "null_share", "distinct_share", "min_length", "max_length", "reviewed", "drift"])
    typer.echo("\nscans:")
    print_table(data["history"], ["scan_id", "scanned_at", "full", "grade"])


@app.command("review")
def review(
    dataset: str = typer.Argument(...),
    column: str = typer.Argument(...),
    accept: bool = typer.Option(False, "--accept", help="accept the latest scan's entity and grade"),
    entity: Optional[str] = typer.Option(None, "--entity", help="override: entity id, or 'null'"),
    grade: Optional[str] = typer.Option(None, "--grade", help="override: L1..L4"),
    reviewer: str = typer.Option(..., "--reviewer", help="your name (recorded)"),
    comment: str = typer.Option(..., "--comment", help="why (recorded)"),
    fmt: OutputFormat = FORMAT,
) -> None:
    """Owner review: accept a finding, or override entity and grade. Reviewed values win over scans."""
    if not accept and grade is None:
        fail("give --accept, or --grade (with --entity) to override")
    try:
        row = _catalog().review(dataset, column, reviewer=reviewer, comment=comment, accept=accept,
                                entity=entity, grade=grade)
    except InputError as exc:
        fail(str(exc))
    if fmt is OutputFormat.json:
        print_json(row)
    else:
        typer.echo(f"{dataset}.{column}: {'accepted' if accept else 'overridden'} as "
                   f"{row['entity'] or 'null'} {row['grade']} by {reviewer}")


@app.command("drift")
def drift(fmt: OutputFormat = FORMAT) -> None:
    """Reviewed columns whose latest scan disagrees with the review (exit 1 when there are any)."""
    rows = _catalog().drift()
    if fmt is OutputFormat.json:
        print_json(rows)
    else:
        print_table(rows, ["dataset", "column", "reviewed_entity", "reviewed_grade", "scanned_entity",
                           "scanned_grade", "reviewer", "reviewed_at", "scanned_at"])
    if rows:
        raise typer.Exit(EXIT_FINDINGS)
