"""The ``shuwei`` command line: one Typer sub-application per area."""
