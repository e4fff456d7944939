"""`shuwei soc` subcommands."""

from __future__ import annotations

import typer

from soc.cli import soc_detect

app = typer.Typer(no_args_is_help=True)
app.command("hunt", help="Run Sigma rules over events (a JSON Lines file or the store).")(soc_detect.hunt)
app.add_typer(soc_detect.rules_app, name="rules", help="Validate and list Sigma rule packs.")
