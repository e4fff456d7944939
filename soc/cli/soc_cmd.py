"""`shuwei soc` subcommands: ingest, alerts and triage, chain verification, retention purge."""

from __future__ import annotations

import gc
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Optional
from zoneinfo import ZoneInfo

import typer

from classifier.dates import parse_when
from classifier.settings import ConfigError, get_settings
from classifier.whoami import current_user
from soc.cli import soc_detect
from soc.cli.common import EXIT_FINDINGS, EXIT_USAGE, FormatOption, OutputFormat, fail, print_json, print_table

app = typer.Typer(no_args_is_help=True)
app.command("hunt", help="Run Sigma rules over events (a JSON Lines file or the store).")(soc_detect.hunt)
app.add_typer(soc_detect.rules_app, name="rules", help="Validate and list Sigma rule packs.")

_ALERT_COLUMNS = ["id", "severity", "status", "rule_title", "count", "first_seen", "last_seen",
                  "users", "datasets", "assignee"]


def _pipeline(*, detection: bool) -> Any:
    from soc.ingest import IngestPipeline
    from soc.playbooks import PlaybookError

    try:
        return IngestPipeline.from_settings(get_settings(), detection=detection, playbooks=detection)
    except (ConfigError, PlaybookError) as exc:
        fail(str(exc))


_EVENT_COLUMNS = ["ts", "user", "action", "result", "dataset", "rows", "src_ip", "dest"]
_EVENT_HIDDEN = {"event_id", "chain_hash", "seq", "fields", "sensitive_fields", "categories", "source",
                 "bytes", "role", "org", "data_level", "off_hours", "session_id", "approval_id", "purpose"}


def _masked_events(store: Any, alert: dict[str, Any]) -> list[dict[str, Any]]:
    """The events behind the alert, masked by the masking policy's per-entity masks."""
    from crypto.engine import MaskingEngine
    from crypto.errors import CryptoError
    from soc.alerts.query import events_behind, mask_event

    try:
        policy = MaskingEngine.from_settings(get_settings()).policy
    except CryptoError as exc:
        fail(f"cannot mask the alert's events: {exc}")
    return [mask_event(e, policy) for e in events_behind(store, alert)]


def _actor(by: Optional[str]) -> str:
    return by or current_user()


def _short(alert: dict[str, Any]) -> dict[str, Any]:
    row = dict(alert)
    for key in ("users", "datasets"):
        values = row.get(key) or []
        row[key] = ",".join(values[:3]) + (f" +{len(values) - 3}" if len(values) > 3 else "")
    return row


@app.command("ingest")
def ingest(
    source: Optional[str] = typer.Argument(None, help="JSON Lines file, or - for stdin"),
    outbox: bool = typer.Option(False, "--outbox", help="also ingest new lines of the suite's own "
                                "audit outbox (<data_dir>/audit/outbox.jsonl)"),
    fmt: OutputFormat = FormatOption,
) -> None:
    """Validate, enrich, store and run detection on audit events. Exit 2 when any event was
    rejected (the valid ones are stored all the same)."""
    if source is None and not outbox:
        fail("give a FILE, - for stdin, or --outbox")
    if source not in (None, "-") and not Path(source).is_file():
        fail(f"{source}: no such file")
    from classifier import jsonl
    from soc.ingest import follow
    from soc.validate import EventError

    from soc import ingest_split

    settings = get_settings()
    if source not in (None, "-") and not outbox and ingest_split.wanted(settings):
        # A file: the durable path here, detection in a second process (soc/ingest_split.py).
        from soc.playbooks import PlaybookError

        try:
            res = ingest_split.ingest_file(settings, Path(source))
        except (ingest_split.DetectionStopped, ConfigError, PlaybookError) as exc:
            fail(str(exc))
        _ingest_report([(source, res)], res.alerts, fmt)
        return
    pipe = _pipeline(detection=True)
    # What is loaded by now (modules, the rule pack, catalog, detection state) lives as long as
    # the process: keep it out of every cyclic-GC pass over the ingest's own objects (measured
    # on 100,000 events: 16.4 -> 12.4 CPU-s user time, 18.1 -> 13.4 s wall).
    gc.freeze()
    results = []
    try:
        if outbox:
            results.append(("outbox", pipe.ingest_outbox(get_settings().data_dir)))
        if source == "-":
            lines = (line for _, line in jsonl.raw_lines(sys.stdin.buffer))
            results.append(("stdin", pipe.ingest(follow(lines), origin="stdin")))
        elif source is not None:
            results.append((source, pipe.ingest_file(Path(source))))
        if pipe.playbooks is not None:
            pipe.playbooks.wait()
        alerts: dict[str, dict[str, Any]] = {}
        for _, res in results:
            alerts.update({a["id"]: a for a in res.alerts})
        # Re-read: playbooks may have changed the alerts after the ingest returned them.
        final = [pipe.alerts.store.get(i) or a for i, a in alerts.items()]
    except EventError as exc:
        fail(str(exc))
    finally:
        pipe.close()
    _ingest_report(results, final, fmt)


def _ingest_report(results: list[tuple[str, Any]], final: list[dict[str, Any]], fmt: OutputFormat) -> None:
    rejected = [dict(r, source=name) for name, res in results for r in res.rejected]
    summary = {"accepted": sum(r.accepted for _, r in results),
               "duplicates": sum(r.duplicates for _, r in results),
               "rejected": rejected, "alerts": final}
    if fmt is OutputFormat.json:
        print_json(summary)
    else:
        typer.echo(f"accepted {summary['accepted']}, duplicates {summary['duplicates']}, "
                   f"rejected {len(rejected)}, alerts {len(final)}")
        for r in rejected:
            where = f"line {r['line']}" if "line" in r else f"index {r['index']}"
            field = f" field '{r['field']}'" if r["field"] else ""
            typer.echo(f"rejected: {r['source']} {where}{field}: {r['reason']}", err=True)
        if final:
            print_table([_short(a) for a in final], _ALERT_COLUMNS)
    if rejected:
        raise typer.Exit(EXIT_USAGE)


@app.command("alerts")
def alerts(
    status: Optional[str] = typer.Option(None, "--status", "-s", help="new, acknowledged, "
                                         "in_progress, resolved or false_positive"),
    severity: Optional[str] = typer.Option(None, "--severity", help="informational, low, medium, "
                                           "high or critical"),
    user: Optional[str] = typer.Option(None, "--user", help="an actor among the alert's users"),
    dataset: Optional[str] = typer.Option(None, "--dataset", help="a dataset the alert touches"),
    since: Optional[str] = typer.Option(None, "--since", help="last seen at or after this date or "
                                        "time (without offset: the configured time zone)"),
    limit: Optional[int] = typer.Option(None, "--limit", "-n", min=1, help="at most N (default: all)"),
    fmt: OutputFormat = FormatOption,
) -> None:
    """List alerts, newest first; the filters are the API's (GET /v1/alerts)."""
    from soc.alerts import SEVERITIES, AlertError
    from soc.alerts.query import AlertFilter

    if severity is not None and severity not in SEVERITIES:
        fail(f"--severity: unknown '{severity}'; expected one of {', '.join(SEVERITIES)}")
    try:
        start = parse_when(since, ZoneInfo(get_settings().timezone)) if since else None
    except ValueError as exc:
        fail(f"--since: {exc}")
    wanted = AlertFilter(severity=severity, user=user, dataset=dataset, since=start)
    pipe = _pipeline(detection=False)
    try:
        items = wanted.apply(pipe.alerts.list(status=status))[:limit]
    except AlertError as exc:
        fail(str(exc))
    finally:
        pipe.close()
    if fmt is OutputFormat.json:
        print_json(items)
    else:
        print_table([_short(a) for a in items], _ALERT_COLUMNS)


_ACTIONS = ("show", "ack", "assign", "resolve", "false-positive", "note")


@app.command("alert")
def alert(
    alert_id: str = typer.Argument(..., help="alert id"),
    action: str = typer.Argument("show", help="show | ack | assign USER | resolve | "
                                 "false-positive | note TEXT"),
    value: Optional[str] = typer.Argument(None, help="USER for assign, TEXT for note"),
    by: Optional[str] = typer.Option(None, "--by", help="who makes the change (default: login name)"),
    fmt: OutputFormat = FormatOption,
) -> None:
    """Show one alert with its history, or move it through its lifecycle."""
    from soc.alerts import AlertError

    if action not in _ACTIONS:
        fail(f"unknown action '{action}'; expected one of {', '.join(_ACTIONS)}")
    if action in ("assign", "note") and not value:
        fail(f"'{action}' needs a {'USER' if action == 'assign' else 'TEXT'} argument")
    if action not in ("assign", "note") and value is not None:
        fail(f"'{action}' takes no further argument")
    actor = _actor(by)
    pipe = _pipeline(detection=False)
    m = pipe.alerts
    events: list[dict[str, Any]] = []
    try:
        result = {
            "show": lambda: m.get(alert_id),
            "ack": lambda: m.acknowledge(alert_id, actor),
            "assign": lambda: m.assign(alert_id, value or "", actor),
            "resolve": lambda: m.resolve(alert_id, actor),
            "false-positive": lambda: m.resolve(alert_id, actor, false_positive=True),
            "note": lambda: m.note(alert_id, value or "", actor),
        }[action]()
        if action == "show":
            events = _masked_events(pipe.store, result)
    except AlertError as exc:
        fail(str(exc))
    finally:
        pipe.close()
    if fmt is OutputFormat.json:
        print_json({**result, "events": events} if action == "show" else result)
        return
    print_table([_short(result)], _ALERT_COLUMNS)
    if events:
        typer.echo(f"\nevents ({len(events)}, sensitive values masked):")
        print_table(events, _EVENT_COLUMNS + sorted({k for e in events for k in e} - set(_EVENT_COLUMNS)
                                                    - _EVENT_HIDDEN))
    if result.get("history"):
        typer.echo("\nhistory:")
        print_table([{**h, "to": h.get("to"), "from": h.get("from")} for h in result["history"]],
                    ["at", "by", "change", "from", "to"])
    for run in result.get("playbook_runs") or []:
        failed = [s for s in run["steps"] if s["status"] != "ok"]
        typer.echo(f"playbook {run['playbook']}: {run['status']}"
                   + "".join(f"; {s['step']} {s['status']} after {s['attempts']} attempt(s): {s['error']}"
                             for s in failed))


@app.command("verify")
def verify(
    anchors: Optional[Path] = typer.Option(None, "--anchors", help="anchor directory to check the store "
                                           "against (default soc.anchors); detects restored older copies"),
    fmt: OutputFormat = FormatOption,
) -> None:
    """Check the SM3 chain, its signed checkpoints and purges (and the anchors); exit 1 naming every
    edit, deletion, insertion, reordering, forged purge or rollback."""
    pipe = _pipeline(detection=False)
    try:
        report = pipe.store.verify(anchors)  # SQLite or Elasticsearch (as `shuwei es verify`)
    finally:
        pipe.close()
    print_verify(report, fmt)


def print_verify(report: Any, fmt: OutputFormat) -> None:
    """The verdict of a chain verification (also `shuwei es verify`); exit 1 on any problem."""
    data = {"ok": report.ok, "checked": report.checked, "purged": report.purged, "signed": report.signed,
            "problems": [p.as_dict() for p in report.problems], "warnings": report.warnings}
    if fmt is OutputFormat.json:
        print_json(data)
    elif report.ok:
        typer.echo(f"ok: {report.checked} events verified, {report.purged} purged by retention, "
                   f"{report.signed} signed checkpoints; hash chain intact")
    else:
        typer.echo(f"TAMPERED: {len(report.problems)} problem(s) in {report.checked} events")
        print_table(data["problems"], ["kind", "seq", "event_id", "detail"])
    if fmt is not OutputFormat.json:
        for warning in report.warnings:
            typer.echo(f"warning: {warning}")
    if not report.ok:
        raise typer.Exit(EXIT_FINDINGS)


def _parse_before(text: str, tz: ZoneInfo) -> datetime:
    try:
        return parse_when(text, tz)
    except ValueError as exc:
        fail(f"--before: {exc}")


@app.command("purge")
def purge(
    before: Optional[str] = typer.Option(None, "--before", help="delete events older than this "
                                         "date/time (default: now minus soc.retention_days, 180)"),
    by: Optional[str] = typer.Option(None, "--by", help="who purges (recorded in the audit trail)"),
    fmt: OutputFormat = FormatOption,
) -> None:
    """Apply retention: delete old events. The purge is itself audited and anchored in the chain."""
    from soc.config import soc_config

    settings = get_settings()
    try:
        cfg = soc_config(settings)
    except ConfigError as exc:
        fail(str(exc))
    tz = ZoneInfo(cfg.timezone or settings.timezone)
    cutoff = (_parse_before(before, tz) if before
              else datetime.now(timezone.utc) - timedelta(days=cfg.retention_days))
    pipe = _pipeline(detection=True)
    try:
        deleted, event = pipe.purge(cutoff, user=_actor(by))
    finally:
        pipe.close()
    data = {"purged": deleted, "before": cutoff.isoformat(), "audit_event_id": event["event_id"]}
    if fmt is OutputFormat.json:
        print_json(data)
    else:
        typer.echo(f"purged {deleted} events older than {data['before']} "
                   f"(audit event {data['audit_event_id']})")
