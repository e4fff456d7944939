"""Output formats, exit codes and error reporting shared by every subcommand."""

from __future__ import annotations

import enum
import json
import sys
from typing import Any, NoReturn

import typer

EXIT_OK = 0
EXIT_FINDINGS = 1  # a check that ran and found problems
EXIT_USAGE = 2  # usage or input error


class OutputFormat(str, enum.Enum):
    json = "json"
    table = "table"


FormatOption = typer.Option(OutputFormat.table, "--format", "-f", help="json or table")


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    """Print a one-line error (never a traceback) and exit."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


def print_table(rows: list[dict[str, Any]], columns: list[str]) -> None:
    """Plain aligned columns; wide CJK characters count double so columns line up in a terminal."""
    def width(text: str) -> int:
        return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)

    cells = [[str(r.get(c, "") if r.get(c) is not None else "") for c in columns] for r in rows]
    widths = [max([width(c)] + [width(row[i]) for row in cells]) for i, c in enumerate(columns)]
    def line(values: list[str]) -> str:
        return "  ".join(v + " " * (w - width(v)) for v, w in zip(values, widths)).rstrip()
    typer.echo(line(columns))
    typer.echo(line(["-" * w for w in widths]))
    for row in cells:
        typer.echo(line(row))
