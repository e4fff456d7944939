"""Output formats, exit codes and error reporting shared by every subcommand."""

from __future__ import annotations

import enum
import json
import sys
from datetime import tzinfo
from typing import Any, NoReturn
from zoneinfo import ZoneInfo

import typer
from rich import box
from rich.cells import cell_len
from rich.console import Console
from rich.table import Table

from classifier.dates import RFC3339, parse_rfc3339
from classifier.settings import get_settings

EXIT_OK = 0
EXIT_FINDINGS = 1  # a check that ran and found problems
EXIT_USAGE = 2  # usage or input error


class OutputFormat(str, enum.Enum):
    json = "json"
    table = "table"


FormatOption = typer.Option(OutputFormat.table, "--format", "-f", help="json or table")


class LogFormat(str, enum.Enum):
    text = "text"
    json = "json"


class LogLevel(str, enum.Enum):
    debug = "debug"
    info = "info"
    warning = "warning"
    error = "error"
    critical = "critical"


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    """Print a one-line error (never a traceback) and exit."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


def console(err: bool = False) -> Console:
    """A rich console on stdout (or stderr): a terminal's width on a TTY; unbounded when piped, so
    files and pipes get whole lines to grep."""
    stream = sys.stderr if err else sys.stdout
    tty = stream.isatty()
    return Console(file=stream, width=None if tty else 1_000_000, no_color=not tty, highlight=False,
                   emoji=False, markup=False)


_RULE = box.Box("    \n    \n -  \n    \n    \n    \n    \n    \n")  # header, a dashed rule, rows


def local_time(value: str, tz: tzinfo | None = None) -> str:
    """An RFC 3339 time shown in the configured zone (``timezone``), to the second; else as is."""
    if not RFC3339.match(value):
        return value
    if tz is None:
        tz = ZoneInfo(get_settings().timezone)
    try:
        return parse_rfc3339(value).astimezone(tz).isoformat(sep=" ", timespec="seconds")
    except ValueError:
        return value


def print_table(rows: list[dict[str, Any]], columns: list[str]) -> None:
    """Aligned columns (wide CJK characters count double) that fit the terminal: short cells such
    as ids and times stay whole, long text wraps, and only on a TTY — piped output keeps each row on
    one line. Times show in the configured time zone."""
    tz = ZoneInfo(get_settings().timezone)
    cells = [[local_time(str(r[c]), tz) if r.get(c) is not None else "" for c in columns] for r in rows]
    out = console()
    longest = [max([cell_len(c)] + [cell_len(row[i]) for row in cells]) for i, c in enumerate(columns)]
    whole = [n <= 25 for n in longest]  # ids, times, grades: better whole than folded
    if sum(n if w else min(n, 10) for n, w in zip(longest, whole)) + 2 * len(columns) > out.width:
        whole = [False] * len(columns)  # too many columns for this terminal: fold them all
    table = Table(box=_RULE, show_edge=False, pad_edge=False, header_style="bold", padding=(0, 1),
                  collapse_padding=True)
    for c, n, w in zip(columns, longest, whole):
        table.add_column(c, no_wrap=w, overflow="fold", min_width=min(n, 10) if w else None)
    for row in cells:
        table.add_row(*row)
    if out.is_terminal:
        out.print(table)
        return
    with out.capture() as cap:
        out.print(table)
    sys.stdout.write("\n".join(line.rstrip() for line in cap.get().splitlines()) + "\n")
