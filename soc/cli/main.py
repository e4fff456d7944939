"""Entry point of the ``shuwei`` console script."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Optional

import typer
from typer.core import TyperGroup

from classifier.settings import CONFIG_ENV, ConfigError, Settings, get_settings, on_data_dir
from soc import logsetup
from soc.cli import apikey, classify, crypto_cmd, demo, es_cmd, evidence, mask, serve, share, soc_cmd, trace
from soc.cli.common import LogFormat, LogLevel, fail
from soc.cli.progress import progress_bars

class _OneLineErrors(TyperGroup):
    """Usage errors as one ``error:`` line naming the command (exit 2), like every other error,
    instead of click's multi-line box."""

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True,
             windows_expand_args: bool = True, **extra: Any) -> Any:
        run = super().main
        if not standalone_mode:
            return run(args, prog_name, complete_var, False, windows_expand_args, **extra)
        try:
            code = run(args, prog_name, complete_var, False, windows_expand_args, **extra)
        except typer.Abort:
            typer.echo("error: aborted", err=True)
            sys.exit(1)
        except ConfigError as exc:  # e.g. a data directory that cannot be created, from any command
            typer.echo(f"error: {exc}", err=True)
            sys.exit(2)
        except typer.TyperException as exc:  # typer's click exceptions (its vendored copy)
            if type(exc).__name__ == "NoArgsIsHelpError":  # bare group: its help, as click does
                typer.echo(exc.format_message(), err=True)
                sys.exit(2)
            ctx = getattr(exc, "ctx", None)
            hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
            typer.echo(f"error: {exc.format_message()}{hint}", err=True)
            sys.exit(getattr(exc, "exit_code", 2))
        sys.exit(code if isinstance(code, int) else 0)


app = typer.Typer(
    cls=_OneLineErrors,
    name="shuwei",
    help="数卫 Shuwei — classify and grade shared data, desensitize and encrypt it, and watch the "
    "exchange audit trail.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback(cls=_OneLineErrors)
def _root(
    ctx: typer.Context,
    config: Optional[Path] = typer.Option(None, "--config", "-c", help="YAML configuration file "
                                          f"(default: ${CONFIG_ENV} or ./shuwei.yaml)"),
    log_level: LogLevel = typer.Option(LogLevel.warning, "--log-level", help="messages at this level and "
                                       "above go to stderr"),
    log_format: LogFormat = typer.Option(LogFormat.text, "--log-format", help="text, or json (one object "
                                         "per line: ts, level, logger, request_id, message)"),
) -> None:
    logsetup.configure(log_level.value, log_format.value)
    if config is not None:
        os.environ[CONFIG_ENV] = str(config)
    get_settings.cache_clear()
    try:
        settings = get_settings()
    except ConfigError as exc:
        fail(str(exc))
    on_data_dir(_say_where(settings))
    ctx.with_resource(progress_bars())


def _say_where(settings: Settings) -> Callable[[Path], None]:
    """Every command that opens a data directory says which, once, on stderr: running from
    another folder must not silently start a second catalog."""
    def say(path: Path) -> None:
        origin = f" ({settings.data_dir_origin()})" if path == settings.data_dir else ""
        typer.echo(f"data: {path}{origin}", err=True)
    return say


app.add_typer(classify.app, name="classify", help="Classify and grade datasets; review the catalog.")
app.add_typer(mask.app, name="mask", help="Dynamic and static desensitization (脱敏).")
app.add_typer(share.app, name="share", help="Share approvals (授权) and the release ledger (留痕).")
app.add_typer(crypto_cmd.app, name="crypto", help="Keys, field encryption and tokens (商用密码).")
app.add_typer(soc_cmd.app, name="soc", help="Audit ingest, detection, alerts and playbooks.")
app.add_typer(es_cmd.app, name="es", help="The Elasticsearch store: status, setup, spool replay, retention, hunt.")
app.add_typer(evidence.app, name="evidence", help="Graded-protection evidence for auditors (等保 2.0, 密评).")
app.add_typer(apikey.app, name="apikey", help="API keys of the HTTP service.")
app.command("trace", help="Trace a leaked file to the release it came from (溯源).")(trace.trace)
app.command("serve", help="Run the HTTP service (uvicorn).")(serve.serve)
app.command("demo", help="Run the whole suite on generated sample data.")(demo.demo)

if __name__ == "__main__":
    app()
