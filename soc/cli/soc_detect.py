"""`shuwei soc hunt` and `shuwei soc rules ...`: Sigma rule checking and hunting."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Any, Optional

import typer

from classifier.settings import ConfigError, get_settings
from soc.cli.common import (
    EXIT_FINDINGS,
    EXIT_USAGE,
    FormatOption,
    OutputFormat,
    fail,
    print_json,
    print_table,
)

rules_app = typer.Typer(no_args_is_help=True)


class Backend(str, enum.Enum):
    memory = "memory"
    sqlite = "sqlite"


def _soc_options() -> tuple[Path, dict[str, list[str]], Path]:
    """(default rule dir, configured placeholders, store file) from the configuration."""
    settings = get_settings()
    cfg = _config()
    rules = cfg.rules or settings.policy_dir / "sigma"
    return Path(rules), dict(cfg.placeholders), settings.data_dir / "soc.db"


def _config() -> Any:
    from soc.config import soc_config

    try:
        return soc_config(get_settings())
    except ConfigError as exc:
        fail(str(exc))


def _pipeline(names: list[str] | None) -> Any:
    """The processing pipeline of ``--pipeline`` (default: soc.pipelines)."""
    from soc.detection.pipelines import load_pipeline

    try:
        return load_pipeline(names if names else list(_config().pipelines))
    except ValueError as exc:
        fail(str(exc))


PipelineOption = typer.Option(None, "--pipeline", "-p",
                              help="pySigma processing pipeline mapping field names (installed "
                                   "name such as sysmon, windows-audit, ecs_windows, or a YAML "
                                   "file); repeatable; default soc.pipelines")


def hunt(
    rules: Optional[Path] = typer.Option(None, "--rules", "-r",
                                         help="Sigma rule file or directory (default: the pack "
                                              "in <policy_dir>/sigma or soc.rules)"),
    events: Optional[Path] = typer.Option(None, "--events", "-e",
                                          help="JSON Lines file of events (any JSON objects); "
                                               "default: the stored events in <data_dir>/soc.db"),
    backend: Backend = typer.Option(Backend.memory, "--backend", "-b",
                                    help="memory (streaming evaluator) or sqlite "
                                         "(rules as SQL via pySigma-backend-sqlite)"),
    logsource: Optional[str] = typer.Option(None, "--logsource", "-l",
                                            help="what the events are, e.g. product=windows,"
                                                 "service=sysmon: rules for other log sources "
                                                 "are skipped (default: unlabelled JSON is "
                                                 "checked against every rule; stored events are "
                                                 "product=shuwei,category=exchange_audit)"),
    pipeline: Optional[list[str]] = PipelineOption,
    fmt: OutputFormat = FormatOption,
) -> None:
    """Run Sigma rules over a JSON Lines file or the stored events.

    JSON output: one array, one object per (rule, event) match in event order, with the event's
    1-based ``line`` (for stored events: its arrival ``seq``). Rules that fail to load are listed
    on stderr and make the exit code 1.
    """
    from soc.detection import RulePack
    from soc.detection.hunt import HuntInputError, hunt as run_hunt
    from soc.detection.logsource import parse_label

    try:
        label = parse_label(logsource) if logsource else None
    except ValueError as exc:
        fail(f"--logsource: {exc}")
    default_rules, placeholders, store = _soc_options()
    rules_path = rules or default_rules
    if not rules_path.exists():
        fail(f"{rules_path}: no such rule file or directory")
    source = events
    if source is None:
        if not store.is_file():
            fail(f"{store}: no stored events (run `shuwei soc ingest` first or pass --events)")
        source = store
    pack = RulePack.load(rules_path, placeholders, _pipeline(pipeline))
    try:
        result = run_hunt(pack, source, backend=backend.value, placeholders=placeholders,
                          logsource=label)
    except HuntInputError as exc:
        fail(str(exc))
    for err in [*pack.errors, *result.errors]:
        typer.echo(f"rule error: {err}", err=True)
    for msg in result.input_errors:
        typer.echo(f"input error: {msg}", err=True)
    if fmt == OutputFormat.json:
        print_json([m.to_hunt_json() for m in result])
    else:
        print_table([{"line": m.line, "rule_id": m.rule_id, "level": m.level,
                      "rule_title": m.rule_title, "event_id": m.event_id or "",
                      "group": ", ".join(f"{k}={v}" for k, v in m.group.items()),
                      "lines": ",".join(map(str, m.lines)) if m.correlation else ""}
                     for m in result],
                    ["line", "rule_id", "level", "rule_title", "event_id", "group", "lines"])
    if pack.errors or result.errors:
        raise typer.Exit(EXIT_FINDINGS)
    if result.input_errors:
        raise typer.Exit(EXIT_USAGE)


@rules_app.command("check")
def check(
    path: Path = typer.Argument(..., help="Sigma rule file or directory"),
    pipeline: Optional[list[str]] = PipelineOption,
    fmt: OutputFormat = FormatOption,
) -> None:
    """Validate a rule pack: pySigma parsing, our evaluator, and pySigma's SigmaHQ validators.

    Exit 0 when clean, 1 when any problem is found.
    """
    from soc.detection.validate import EXCLUDED_VALIDATORS, check_rules

    if not path.exists():
        fail(f"{path}: no such rule file or directory")
    _, placeholders, _ = _soc_options()
    problems = check_rules(path, placeholders, _pipeline(pipeline))
    if fmt == OutputFormat.json:
        print_json(problems)
    elif problems:
        print_table(problems, ["path", "rule_id", "severity", "check", "message"])
    else:
        typer.echo(f"{path}: no problems found (validators skipped: "
                   f"{', '.join(sorted(EXCLUDED_VALIDATORS))} - they need network data)")
    if problems:
        raise typer.Exit(EXIT_FINDINGS)


@rules_app.command("list")
def list_rules(
    path: Optional[Path] = typer.Argument(None, help="rule file or directory (default: the pack)"),
    limit: Optional[int] = typer.Option(None, "--limit", min=1, help="at most N rules"),
    fmt: OutputFormat = FormatOption,
) -> None:
    """List the rules of a pack: id, title, level, kind (detection or correlation type), file.

    Rules that fail to load are listed on stderr and make the exit code 1.
    """
    from sigma.correlations import SigmaCorrelationRule
    from sigma.rule import SigmaRule

    from soc.detection import RulePack
    from soc.detection.pack import rule_key, rule_level

    default_rules, _, _ = _soc_options()
    rules_path = path or default_rules
    if not rules_path.exists():
        fail(f"{rules_path}: no such rule file or directory")
    pack = RulePack.load(rules_path)
    rules: list[SigmaRule | SigmaCorrelationRule] = [*pack.rules, *pack.correlations]
    rows = [{"rule_id": rule_key(r), "title": r.title, "level": rule_level(r),
             "kind": r.type.name.lower() if isinstance(r, SigmaCorrelationRule) else "detection",
             "output": bool(r._output), "path": pack.paths.get(rule_key(r), "")}
            for r in rules]
    rows = rows[:limit] if limit else rows
    if fmt == OutputFormat.json:
        print_json(rows)
    else:
        print_table(rows, ["rule_id", "level", "kind", "output", "title", "path"])
    for err in pack.errors:
        typer.echo(f"rule error: {err}", err=True)
    if pack.errors:
        raise typer.Exit(EXIT_FINDINGS)
