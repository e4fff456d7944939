"""`shuwei es ...`: the Elasticsearch store — status, setup, spool replay, retention, verify, hunt."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, Optional

import typer

from classifier.dates import parse_when
from classifier.settings import ConfigError, get_settings
from soc.cli.common import EXIT_FINDINGS, FormatOption, OutputFormat, fail, print_json, print_table

app = typer.Typer(no_args_is_help=True)


def _store() -> Any:
    from soc.store.es import EsEventStore

    try:
        return EsEventStore.from_settings(get_settings())
    except ConfigError as exc:
        fail(str(exc))


def _unreachable(exc: Exception) -> None:
    """Connection problems become one line naming the cluster URL (never credentials)."""
    from soc.store.es import es_config

    url = es_config(get_settings()).url
    fail(f"Elasticsearch at {url}: {exc.__class__.__name__}: {getattr(exc, 'message', exc)}", EXIT_FINDINGS)


def _when(value: Optional[str], name: str) -> Optional[datetime]:
    if value is None:
        return None
    from zoneinfo import ZoneInfo

    try:
        return parse_when(value, ZoneInfo(get_settings().timezone))
    except ValueError as exc:
        fail(f"--{name}: {exc}")


@app.command("status")
def status(fmt: OutputFormat = FormatOption) -> None:
    """Cluster health, the daily event indices with their counts, and the local spool."""
    from elasticsearch import ApiError, TransportError

    store = _store()
    try:
        health = store.client.cluster.health()
        store.client.indices.refresh(index=store.pattern, allow_no_indices=True, ignore_unavailable=True)
        rows = store.client.cat.indices(index=store.pattern, format="json", h="index,docs.count,store.size",
                                        s="index")
    except (ApiError, TransportError) as exc:
        rows, health = [], None
        reason = exc
    out = {
        "url": store.cfg.url, "cluster_status": health["status"] if health else "unreachable",
        "indices": [{"index": r["index"], "events": int(r["docs.count"] or 0), "size": r["store.size"]}
                    for r in rows],
        "spooled": store.spool.pending(), "dead_letters": len(store.spool.dead_letters()),
        "retention_days": store.retention_days,
    }
    if fmt == OutputFormat.json:
        print_json(out)
    else:
        typer.echo(f"cluster {out['url']}: {out['cluster_status']}; spooled {out['spooled']}, "
                   f"dead letters {out['dead_letters']}, retention {out['retention_days']} days")
        print_table(out["indices"], ["index", "events", "size"])
    store.close()
    if health is None:
        _unreachable(reason)


@app.command("setup")
def setup() -> None:
    """Install (or update) the index templates for events and alerts."""
    from elasticsearch import ApiError, TransportError

    from soc.store.es import EsAlertStore

    store = _store()
    try:
        store.ensure_template()
        EsAlertStore(store.client, store.cfg)
    except (ApiError, TransportError) as exc:
        _unreachable(exc)
    typer.echo(f"templates {store.prefix}-events and {store.prefix}-alerts installed")
    store.close()


@app.command("replay")
def replay() -> None:
    """Send events (and alerts) waiting in the local spool to Elasticsearch now (exit 1 if some
    remain)."""
    from soc.store.es import EsAlertStore

    store = _store()
    moved = store.replay()
    left = store.spool.pending()
    alerts = EsAlertStore.from_settings(get_settings())
    alerts_moved = alerts.replay()
    alerts_left = len(alerts.spool.alerts()) if alerts.spool else 0
    typer.echo(f"replayed {moved} events; {left} still spooled"
               + (f"; {alerts_moved} alerts replayed, {alerts_left} waiting" if alerts_moved or alerts_left
                  else ""))
    alerts.close()
    store.close()
    if left or alerts_left:
        raise typer.Exit(EXIT_FINDINGS)


@app.command("retention")
def retention(
    before: Optional[str] = typer.Option(None, "--before",
                                         help="delete events older than this time (ISO 8601 with "
                                              "offset); default: now minus the retention period"),
) -> None:
    """Delete events past retention (default soc.retention_days, 180)."""
    from elasticsearch import ApiError, TransportError

    store = _store()
    cutoff = _when(before, "before")
    try:
        deleted = store.purge(cutoff) if cutoff else store.apply_retention()
    except (ApiError, TransportError) as exc:
        _unreachable(exc)
    typer.echo(f"deleted {deleted} events")
    store.close()


@app.command("verify")
def verify(
    anchors: Optional[Path] = typer.Option(None, "--anchors", help="anchor directory to check the "
                                           "indices against (default soc.anchors)"),
    fmt: OutputFormat = FormatOption,
) -> None:
    """Check every daily index against its signed checkpoints, retention records and anchors; exit
    1 naming every edit, deletion, insertion, reordering, forged purge or rollback."""
    from elasticsearch import ApiError, TransportError

    from soc.cli.soc_cmd import print_verify

    store = _store()
    try:
        report = store.verify(anchors)
    except (ApiError, TransportError) as exc:
        _unreachable(exc)
    finally:
        store.close()
    print_verify(report, fmt)


@app.command("hunt")
def hunt(
    rules: Optional[Path] = typer.Option(None, "--rules", "-r", help="Sigma rule file or directory "
                                         "(default: the pack in <policy_dir>/sigma or soc.rules)"),
    since: Optional[str] = typer.Option(None, "--since", help="only events at or after (ISO 8601)"),
    until: Optional[str] = typer.Option(None, "--until", help="only events before (ISO 8601)"),
    fmt: OutputFormat = FormatOption,
) -> None:
    """Run the rule pack over the events stored in Elasticsearch.

    Same JSON as `shuwei soc hunt`; ``line`` is the event's arrival key (``ingest_seq``). Rules
    that fail to load or convert are listed on stderr and make the exit code 1.
    """
    from elasticsearch import ApiError, TransportError

    from soc.config import rules_dir, soc_config
    from soc.detection import RulePack
    from soc.detection.es_hunt import es_hunt

    settings = get_settings()
    try:
        cfg = soc_config(settings)
    except ConfigError as exc:
        fail(str(exc))
    path = rules or rules_dir(settings, cfg)
    if not path.exists():
        fail(f"{path}: no such rule file or directory")
    start, end = _when(since, "since"), _when(until, "until")
    pack = RulePack.load(path, cfg.placeholders)
    store = _store()
    try:
        result = es_hunt(pack, store, cfg.placeholders, since=start, until=end)
    except (ApiError, TransportError) as exc:
        _unreachable(exc)
    for err in [*pack.errors, *result.errors]:
        typer.echo(f"rule error: {err}", err=True)
    if fmt == OutputFormat.json:
        print_json([m.to_hunt_json() for m in result])
    else:
        print_table([{"line": m.line, "rule_id": m.rule_id, "level": m.level, "rule_title": m.rule_title,
                      "event_id": m.event_id or "",
                      "group": ", ".join(f"{k}={v}" for k, v in m.group.items())} for m in result],
                    ["line", "rule_id", "level", "rule_title", "event_id", "group"])
    store.close()
    if pack.errors or result.errors:
        raise typer.Exit(EXIT_FINDINGS)
