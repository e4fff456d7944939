"""`shuwei mask` subcommands: dynamic (records on stdin) and static (a whole file) desensitization."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional, TypeVar

import typer

from classifier.errors import InputError
from classifier.settings import get_settings
from classifier.whoami import current_user
from crypto.errors import CryptoError
from crypto.records_io import iter_jsonl
from soc.cli.common import EXIT_FINDINGS, OutputFormat, fail, print_json, print_table

if TYPE_CHECKING:
    from crypto.engine import Caller, MaskingEngine

app = typer.Typer(no_args_is_help=True)
T = TypeVar("T")
BATCH = 10_000


def guarded(fn: Callable[[], T]) -> T:
    """Run ``fn``; input, policy and key errors become one line on stderr and exit code 2."""
    try:
        return fn()
    except (CryptoError, InputError) as exc:
        fail(str(exc))


def _engine() -> MaskingEngine:
    from crypto.engine import MaskingEngine  # the engine pulls in Presidio (~1 s): only when masking

    return guarded(lambda: MaskingEngine.from_settings(get_settings()))


def _caller(role: str, user: Optional[str], org: Optional[str], purpose: Optional[str],
            approval: Optional[str]) -> Caller:
    from crypto.engine import Caller

    return Caller(user or current_user(), role, org, purpose, approval)


ROLE = typer.Option(..., "--role", "-r", help="consumer role at the exchange platform (policy roles:)")
PURPOSE = typer.Option(None, "--purpose", help="declared purpose of use")
APPROVAL = typer.Option(None, "--approval", help="share approval id (授权) granting fields in clear")
USER = typer.Option(None, "--user", help="consumer account (default: the OS user)")
ORG = typer.Option(None, "--org", help="consumer organisation")


@app.command("records")
def records(
    dataset: str = typer.Option(..., "--dataset", "-d", help="dataset id in the catalog"),
    role: str = ROLE, purpose: Optional[str] = PURPOSE, approval: Optional[str] = APPROVAL,
    user: Optional[str] = USER, org: Optional[str] = ORG,
    decisions: bool = typer.Option(False, "--decisions", help="print decisions and fallbacks as JSON on stderr"),
) -> None:
    """Mask JSON Lines records from stdin to stdout (same order), per policy for this caller."""
    engine = _engine()
    caller = _caller(role, user, org, purpose, approval)
    recs = guarded(lambda: [obj for _, obj in iter_jsonl(sys.stdin.buffer, "<stdin>")])
    summary: dict[str, Any] = {"decisions": {}, "fallbacks": []}
    clear: dict[str, None] = {}
    masked: dict[str, None] = {}
    names: dict[str, None] = {}
    lines: list[str] = []
    for start in range(0, len(recs), BATCH):
        chunk = recs[start:start + BATCH]
        res = guarded(lambda: engine.mask(dataset, caller, chunk, emit_audit=False))
        summary["decisions"].update(res.decisions)
        summary["fallbacks"] = list(dict.fromkeys(summary["fallbacks"] + res.fallbacks))
        clear.update(dict.fromkeys(res.clear))
        masked.update(dict.fromkeys(res.masked))
        names.update(dict.fromkeys(res.decisions))
        lines.extend(json.dumps(r, ensure_ascii=False) + "\n" for r in res.records)
    # One call, one release: recorded durably (and audited) before any masked record is written.
    summary["release_id"] = guarded(lambda: engine.release(
        dataset, caller, list(names), len(recs), summary["decisions"], list(clear), list(masked),
        summary["fallbacks"]))
    out = sys.stdout
    out.writelines(lines)
    out.flush()
    if decisions:
        typer.echo(json.dumps(summary, ensure_ascii=False), err=True)
    elif summary["fallbacks"]:
        typer.echo(f"fell back to full mask/null in: {', '.join(summary['fallbacks'])}", err=True)


@app.command("file")
def file(
    src: Path = typer.Argument(..., help="input file: csv, tsv, jsonl, ndjson"),
    dst: Path = typer.Argument(..., help="output file, same format"),
    role: str = ROLE, purpose: Optional[str] = PURPOSE, approval: Optional[str] = APPROVAL,
    user: Optional[str] = USER, org: Optional[str] = ORG,
    dataset: Optional[str] = typer.Option(None, "--dataset", "-d", help="dataset id (default: file name without extension)"),
    force: bool = typer.Option(False, "--force", help="write the output even below the policy's k-anonymity"),
    fmt: OutputFormat = typer.Option(OutputFormat.table, "--format", "-f", help="json or table"),
) -> None:
    """Desensitize a whole dataset into a new file; refuses an output below the policy's k (exit 1)."""
    from crypto.static import KAnonymityError, mask_file

    engine = _engine()
    caller = _caller(role, user, org, purpose, approval)
    try:
        report = mask_file(engine, src, dst, caller, dataset=dataset, force=force)
    except KAnonymityError as exc:
        _report(exc.report, fmt)
        fail(str(exc), EXIT_FINDINGS)
    except (CryptoError, InputError) as exc:
        fail(str(exc))
    _report(report, fmt)


def _report(report: dict[str, Any], fmt: OutputFormat) -> None:
    if fmt is OutputFormat.json:
        print_json(report)
        return
    typer.echo(f"{report['dataset']}: {report['rows']} rows → {report['output']} "
               f"({'written' if report['written'] else 'NOT written'}"
               f"{', forced' if report['forced'] else ''}); k-anonymity {report['k']} "
               f"(required {report['required_k']}) over {', '.join(report['quasi_identifiers']) or 'no quasi-identifiers'}")
    print_table([{"field": f, **d, "fallback": "yes" if f in report["fallbacks"] else ""}
                 for f, d in report["decisions"].items()], ["field", "strategy", "reason", "fallback"])
