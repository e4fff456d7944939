"""Overview: alerts per day by severity, datasets and fields by grade, audit events per day."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import HTMLResponse, RedirectResponse

from soc.alerts.severity import SEVERITIES
from soc.service.auth.principal import Principal
from soc.service.console import charts, web
from soc.service.deps import get_state
from soc.service.console.routers.alerts import all_alerts
from soc.service.routers.alerts import visible

router = APIRouter(prefix=web.PREFIX, include_in_schema=False)
GRADES = ("L1", "L2", "L3", "L4")
DAYS = 14


def _last_day(stamps: list[str]) -> date | None:
    """The charts end on the newest day in the data (not the wall clock: a quiet week still shows)."""
    return date.fromisoformat(max(stamps)[:10]) if stamps else None


@router.get("")
def root() -> RedirectResponse:
    return RedirectResponse(web.PREFIX + "/", status_code=307)


@router.get("/")
def overview(request: Request, principal: Principal = Depends(web.page("whoami"))) -> HTMLResponse:
    state = get_state(request)
    context: dict[str, Any] = {}
    if web.allowed(request, principal, "alerts:read"):
        alerts = [a for a in all_alerts(request) if visible(principal, a)]
        end = _last_day([a["last_seen"] for a in alerts])
        labels = charts.days(end, DAYS) if end else []
        context["alert_chart"] = charts.per_day(((a["last_seen"], a["severity"]) for a in alerts), labels,
                                                SEVERITIES)
        context["alert_status"] = Counter(a["status"] for a in alerts)
        context["event_chart"] = _recent_events(state, end)
        context["retention"] = _retention(state)
    if web.allowed(request, principal, "datasets:read"):
        catalog = state.backends.catalog()
        names = [d for d in catalog.list_datasets() if principal.may_see(d["dataset"])]
        fields: Counter[str] = Counter()
        for d in names:
            eff = catalog.effective(d["dataset"])
            fields.update(c["grade"] for c in (eff or {}).get("columns", []) if c.get("grade"))
        by_grade = Counter(d["grade"] for d in names)
        context["dataset_chart"] = charts.stacked({g: Counter({"datasets": by_grade[g]}) for g in GRADES},
                                                  GRADES, ["datasets"])
        context["field_chart"] = charts.stacked({g: Counter({"fields": fields[g]}) for g in GRADES},
                                                GRADES, ["fields"])
        context["dataset_count"] = len(names)
        context["l4"] = _l4_coverage(state, catalog, names)
    return web.render(request, "overview.html", **context)


@router.get("/overview/chain")
def chain_status(request: Request, principal: Principal = Depends(web.page("alerts:read"))) -> HTMLResponse:
    """The SM3 chain over the whole audit trail, checked on request (it reads every event)."""
    store = get_state(request).backends.pipeline().store
    report = store.verify() if hasattr(store, "verify") else None
    return web.render(request, "overview_chain.html", report=report)


def _retention(state: Any) -> dict[str, Any]:
    from soc.config import soc_config

    return {"days": soc_config(state.settings).retention_days, "events": state.backends.pipeline().store.count()}


def _l4_coverage(state: Any, catalog: Any, datasets: list[dict[str, Any]]) -> dict[str, int]:
    """L4 fields in the catalog, and how their releases went out: protected (masked, tokenized,
    encrypted …) or in clear (``keep``, e.g. under an approval) — from the release ledger."""
    from crypto.share import releases

    l4: set[tuple[str, str]] = set()
    for d in datasets:
        if d["grade"] == "L4":
            eff = catalog.effective(d["dataset"]) or {}
            l4.update((d["dataset"], c["name"]) for c in eff.get("columns", []) if c.get("grade") == "L4")
    protected = clear = 0
    for rel in releases.list_releases(state.settings.data_dir):
        for name, strategy in rel.fields.items():
            if (rel.dataset, name) in l4:
                if strategy == "keep":
                    clear += 1
                else:
                    protected += 1
    return {"fields": len(l4), "protected": protected, "in_clear": clear}


def _recent_events(state: Any, end: date | None) -> charts.Chart | None:
    """Audit events per day over the charted days (read from the event store's time index)."""
    if end is None:
        return None
    start = datetime.combine(end - timedelta(days=DAYS - 1), datetime.min.time()).astimezone()
    labels = charts.days(end, DAYS)
    store = state.backends.pipeline().store
    return charts.per_day(((str(e.get("ts", "")), "events") for e in store.iter_events(since=start)), labels,
                          ["events"])
