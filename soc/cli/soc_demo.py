"""The SOC step of `shuwei demo`: a generated day of exchange traffic with injected attacks."""

from __future__ import annotations

from typing import Any

import typer

from classifier.settings import Settings
from soc.cli.common import print_table

DEMO_EVENTS = 20_000


def step_soc(ctx: dict[str, Any]) -> None:
    """Grade the exchange's datasets, ingest a day of traffic, print the alerts it raised.

    Runs in the demo's data directory, which the demo recreates, so it is repeatable: the
    generated events carry fixed ids, and a second ingest would be duplicates.
    """
    from soc.ingest import IngestPipeline
    from soc.traffic import generate, score, seed_catalog

    settings: Settings = ctx["settings"]
    typer.echo("\n== security operations (一体化安全运营): one generated day of exchange traffic")
    grades = seed_catalog(settings, only_new=True)
    typer.echo("exchange datasets graded: " + ", ".join(f"{d} {g}" for d, g in grades.items()))
    traffic = generate(DEMO_EVENTS, seed=7)
    pipe = IngestPipeline.from_settings(settings)
    try:
        pipe.ingest(traffic.history, origin="demo-history")
        res = pipe.ingest(traffic.day, origin="demo")
        if pipe.playbooks is not None:
            pipe.playbooks.wait()
        alerts = pipe.alerts.list()
        verified = pipe.store.verify() if hasattr(pipe.store, "verify") else None
    finally:
        pipe.close()
    typer.echo(f"ingested {len(traffic.history):,} baseline events of earlier days, then "
               f"{res.accepted:,} events of {traffic.day[0]['ts'][:10]} with "
               f"{len(traffic.scenarios)} injected attack scenarios; {len(alerts)} alerts")
    rows = [{"severity": a["severity"], "rule": a["rule_title"], "users": ",".join(a["users"][:3]),
             "datasets": ",".join(a["datasets"][:2]), "count": a["count"], "status": a["status"],
             "assignee": a["assignee"] or "", "id": a["id"]} for a in alerts]
    order = ["critical", "high", "medium", "low", "informational"]
    rows.sort(key=lambda r: (order.index(r["severity"]), r["rule"]))
    print_table(rows, ["severity", "rule", "users", "datasets", "count", "status", "assignee", "id"])
    report = score(traffic, alerts)
    typer.echo(f"\nscenarios detected {report['detected']}/{report['injected']}; "
               f"alerts on benign users: {report['benign_alerts']}")
    for line in report["lines"]:
        typer.echo("  " + line)
    if verified is not None:
        typer.echo(f"SM3 hash chain: {verified.checked:,} events, "
                   + ("intact" if verified.ok else f"{len(verified.problems)} problems"))
    hint = ctx["hint"]
    typer.echo("explore:")
    for args in ("soc alerts", "soc alert ID", "soc verify"):
        typer.echo(f"  {hint(args)}")
