"""`shuwei soc hunt` and `shuwei soc rules ...`: Sigma rule checking and hunting."""

from __future__ import annotations

import typer

rules_app = typer.Typer(no_args_is_help=True)


def hunt() -> None:
    """Run Sigma rules over a JSON Lines file or the stored events."""
    raise typer.Exit(2)
