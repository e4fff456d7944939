"""Alerts (analysts): the filtered list with counts, grouping and a histogram; bulk triage; saved
filters; one alert with its masked events, dataset grades, the user's other alerts and history.

Every change goes through :func:`soc.service.routers.alerts.triage`, the API's PATCH: the same
lifecycle rules and the same ``api_call`` audit event per alert.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any
from urllib.parse import urlencode

import orjson
from fastapi import APIRouter, Depends, Request
from starlette.datastructures import QueryParams
from starlette.responses import HTMLResponse, RedirectResponse, Response

from soc.alerts.manager import STATUSES
from soc.alerts.query import AlertFilter, events_behind, mask_event
from soc.alerts.severity import SEVERITIES
from soc.service.auth.principal import Principal
from soc.service.console import charts, web
from soc.service.deps import get_state
from soc.service.errors import ApiError
from soc.service.routers.alerts import AlertPatch, triage, visible, visible_alert

router = APIRouter(prefix=web.PREFIX + "/alerts", include_in_schema=False)
FILTER_KEYS = ("status", "severity", "rule", "user", "dataset", "since", "until", "q", "group")
GROUPS = {"rule": "规则 Rule", "user": "用户 User"}
OPERATIONS = {"acknowledge": "确认 Acknowledge", "assign": "指派 Assign", "resolve": "解决 Resolve",
              "false_positive": "误报 False positive", "note": "备注 Note only"}
HISTOGRAM_DAYS = 60


@dataclass
class ListFilter:
    """The list's query string, checked: unknown values are dropped and named in ``problems``."""

    values: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @classmethod
    def parse(cls, params: QueryParams | dict[str, str]) -> "ListFilter":
        out = cls()
        for key in FILTER_KEYS:
            value = str(params.get(key) or "").strip()
            if value:
                out.values[key] = value
        for key, allowed in (("status", STATUSES), ("severity", SEVERITIES), ("group", tuple(GROUPS))):
            if key in out.values and out.values[key] not in allowed:
                out.problems.append(f"{key}: '{out.values.pop(key)}' is not one of {', '.join(allowed)}")
        for key in ("since", "until"):
            if key in out.values:
                try:
                    date.fromisoformat(out.values[key])
                except ValueError:
                    out.problems.append(f"{key}: '{out.values.pop(key)}' is not a date (YYYY-MM-DD)")
        return out

    def query(self, **changes: str) -> str:
        merged = {**self.values, **changes}
        return urlencode({k: v for k, v in merged.items() if v})

    def _bound(self, key: str, end: bool) -> datetime | None:
        if key not in self.values:
            return None
        day = date.fromisoformat(self.values[key])
        return datetime.combine(day, time.max if end else time.min).astimezone()

    def matcher(self) -> AlertFilter:
        v = self.values
        return AlertFilter(status=v.get("status"), severity=v.get("severity"), user=v.get("user"),
                           dataset=v.get("dataset"), since=self._bound("since", False),
                           until=self._bound("until", True))

    def apply(self, principal: Principal, alerts: list[dict[str, Any]]) -> list[dict[str, Any]]:
        wanted = self.matcher()
        rule = self.values.get("rule", "").lower()
        text = self.values.get("q", "").lower()
        out = []
        for a in alerts:
            if not (visible(principal, a) and wanted.matches(a)):
                continue
            if rule and rule not in a["rule_id"].lower() and rule not in a["rule_title"].lower():
                continue
            if text and text not in _haystack(a):
                continue
            out.append(a)
        return out


def _haystack(alert: dict[str, Any]) -> str:
    """What free-text search looks in: ids, rule, users, datasets, assignee, notes, tags."""
    parts = [alert["id"], alert["rule_id"], alert["rule_title"], alert.get("assignee") or "",
             *(alert.get("users") or []), *(alert.get("datasets") or []), *(alert.get("tags") or []),
             *(n.get("text", "") for n in alert.get("notes") or [])]
    return " ".join(map(str, parts)).lower()


def all_alerts(request: Request) -> list[dict[str, Any]]:
    """Every alert, newest first. Decoding 10,000 documents was most of a page view, so with a
    store that says when it changed (SQLite: ``generation()``, ``documents()``) this process keeps
    the decoded list until then, and afterwards decodes only documents whose text changed. The
    console only reads these dicts; nothing mutates them."""
    manager = get_state(request).backends.alerts()
    store = manager.store
    if not (hasattr(store, "generation") and hasattr(store, "documents")):
        return list(manager.list())
    now = store.generation()
    cached: AlertCache | None = getattr(request.app.state, "console_alerts", None)
    if cached is not None and cached.generation == now:
        return cached.alerts
    known = cached.decoded if cached is not None else {}
    decoded: dict[str, tuple[str, dict[str, Any]]] = {}
    for alert_id, text in store.documents():
        hit = known.get(alert_id)
        decoded[alert_id] = hit if hit is not None and hit[0] == text else (text, orjson.loads(text))
    fresh = AlertCache(now, [doc for _, doc in decoded.values()], decoded)
    request.app.state.console_alerts = fresh
    return fresh.alerts


@dataclass(frozen=True)
class AlertCache:
    generation: Any
    alerts: list[dict[str, Any]]
    decoded: dict[str, tuple[str, dict[str, Any]]]  # id → (JSON text, decoded document)


def _matching(request: Request, principal: Principal, flt: ListFilter) -> list[dict[str, Any]]:
    return flt.apply(principal, all_alerts(request))


def _histogram(alerts: list[dict[str, Any]]) -> charts.Chart | None:
    if not alerts:
        return None
    last = date.fromisoformat(max(a["last_seen"] for a in alerts)[:10])
    first = date.fromisoformat(min(a["last_seen"] for a in alerts)[:10])
    span = min(max((last - first).days + 1, 7), HISTOGRAM_DAYS)
    return charts.per_day(((a["last_seen"], a["severity"]) for a in alerts), charts.days(last, span), SEVERITIES)


def _summary(alerts: list[dict[str, Any]], flt: ListFilter) -> dict[str, Any]:
    groups: Counter[str] = Counter()
    by = flt.values.get("group")
    if by == "rule":
        groups.update(f"{a['rule_id']} — {a['rule_title']}" for a in alerts)
    elif by == "user":
        groups.update(u for a in alerts for u in (a.get("users") or ["(none)"]))
    return {"total": len(alerts), "by_status": Counter(a["status"] for a in alerts),
            "by_severity": Counter(a["severity"] for a in alerts), "groups": groups.most_common(50),
            "histogram": _histogram(alerts), "statuses": STATUSES, "severities": SEVERITIES}


@router.get("")
def alert_list(request: Request, offset: int = 0,
               principal: Principal = Depends(web.page("alerts:read"))) -> HTMLResponse:
    flt = ListFilter.parse(request.query_params)
    alerts = _matching(request, principal, flt)
    size = get_state(request).options.console.page_size
    offset = max(0, min(offset, max(len(alerts) - 1, 0)))
    return web.render(request, "alerts.html", flt=flt, rows=alerts[offset:offset + size], offset=offset,
                      size=size, groups=GROUPS, operations=OPERATIONS, summary=_summary(alerts, flt),
                      saved=web.store(request).filters(principal.subject), result=_result(request))


@router.get("/summary")
def alert_summary(request: Request, principal: Principal = Depends(web.page("alerts:read"))) -> HTMLResponse:
    """The counts and histogram alone: the list page polls this (live refresh keeps the selection)."""
    flt = ListFilter.parse(request.query_params)
    return web.render(request, "alerts_summary.html", flt=flt, groups=GROUPS,
                      summary=_summary(_matching(request, principal, flt), flt))


def _result(request: Request) -> dict[str, int] | None:
    p = request.query_params
    if "changed" not in p:
        return None
    try:
        return {"changed": int(p["changed"]), "refused": int(p.get("refused", "0"))}
    except ValueError:
        return None


def _patch(op: str, assignee: str, reason: str, note: str) -> AlertPatch:
    """The API's PATCH body for one bulk operation (a false positive's reason becomes its note)."""
    notes = [n for n in (f"误报理由 False-positive reason: {reason}" if op == "false_positive" else "", note) if n]
    status = {"acknowledge": "acknowledged", "resolve": "resolved", "false_positive": "false_positive"}.get(op)
    fields: dict[str, Any] = {"status": status, "assignee": assignee if op == "assign" else None,
                              "notes": "\n".join(notes) if notes else None}
    return AlertPatch.model_validate({k: v for k, v in fields.items() if v is not None})


@router.post("/bulk")
async def bulk(request: Request, principal: Principal = Depends(web.action("alerts:update"))) -> Response:
    form = await request.form()
    op = str(form.get("op", ""))
    flt = ListFilter.parse({k: str(v) for k, v in form.items() if k in FILTER_KEYS})
    assignee, reason = str(form.get("assignee", "")).strip(), str(form.get("reason", "")).strip()
    note = str(form.get("note", "")).strip()
    back = str(form.get("back", ""))
    if op not in OPERATIONS:
        return web.error_page(request, 400, f"op: choose one of {', '.join(OPERATIONS)}")
    if op == "assign" and not assignee:
        return web.error_page(request, 400, "指派需要处理人 Assign needs an assignee")
    if op == "false_positive" and not reason:
        return web.error_page(request, 400, "误报需要理由 A false positive needs a reason")
    if op == "note" and not note:
        return web.error_page(request, 400, "备注不能为空 A note needs text")
    if form.get("scope") == "filter":
        ids = [a["id"] for a in _matching(request, principal, flt)]
    else:
        ids = [str(v) for v in form.getlist("ids")]
    if not ids:
        return web.error_page(request, 400, "未选择告警 Select at least one alert (or apply to all matching)")
    patch = _patch(op, assignee, reason, note)
    changed = refused = 0
    for alert_id in ids:
        try:
            triage(request, principal, alert_id, patch)
            changed += 1
        except ApiError:
            refused += 1  # already closed, or not visible to this key: counted, the rest go on
    if back.startswith(web.PREFIX + "/alerts/") and "//" not in back and len(ids) == 1:
        return RedirectResponse(back, status_code=303)
    return RedirectResponse(f"{web.PREFIX}/alerts?{flt.query(changed=str(changed), refused=str(refused))}",
                            status_code=303)


@router.post("/filters")
async def save_filter(request: Request, principal: Principal = Depends(web.action("alerts:read"))) -> Response:
    form = await request.form()
    name = str(form.get("name", "")).strip()
    flt = ListFilter.parse({k: str(v) for k, v in form.items() if k in FILTER_KEYS})
    if not name or len(name) > 100:
        return web.error_page(request, 400, "筛选名称 A saved filter needs a name (1–100 characters)")
    web.store(request).save_filter(principal.subject, name, flt.query())
    return RedirectResponse(f"{web.PREFIX}/alerts?{flt.query()}", status_code=303)


@router.post("/filters/delete")
async def delete_filter(request: Request, principal: Principal = Depends(web.action("alerts:read"))) -> Response:
    form = await request.form()
    web.store(request).delete_filter(principal.subject, str(form.get("name", "")))
    return RedirectResponse(f"{web.PREFIX}/alerts", status_code=303)


def _events(request: Request, alert: dict[str, Any]) -> tuple[list[dict[str, Any]], str | None]:
    """The events behind the alert, masked by the masking policy — or none, with the reason."""
    from crypto.errors import CryptoError

    state = get_state(request)
    try:
        policy = state.backends.masking().policy
    except CryptoError as exc:
        return [], f"cannot mask the events, so they are not shown: {exc}"
    return [mask_event(e, policy) for e in events_behind(state.backends.pipeline().store, alert)], None


def _datasets(request: Request, principal: Principal, alert: dict[str, Any]) -> list[dict[str, Any]]:
    if not web.allowed(request, principal, "datasets:read"):
        return []
    catalog = get_state(request).backends.catalog()
    out = []
    for name in alert.get("datasets") or []:
        if principal.may_see(name):
            eff = catalog.effective(name)
            out.append({"dataset": name, "grade": eff["grade"] if eff else None,
                        "columns": [c for c in (eff or {}).get("columns", []) if c.get("grade") in ("L3", "L4")]})
    return out


def _others(request: Request, principal: Principal, alert: dict[str, Any]) -> list[dict[str, Any]]:
    users = set(alert.get("users") or [])
    if not users:
        return []
    return [a for a in all_alerts(request)
            if a["id"] != alert["id"] and visible(principal, a) and users & set(a.get("users") or [])][:20]


@router.get("/{alert_id}")
def alert_page(alert_id: str, request: Request,
               principal: Principal = Depends(web.page("alerts:read"))) -> HTMLResponse:
    alert = visible_alert(request, principal, alert_id)  # a 404 is the console's error page
    events, events_problem = _events(request, alert)
    return web.render(request, "alert.html", alert=alert, events=events, events_problem=events_problem,
                      datasets=_datasets(request, principal, alert), others=_others(request, principal, alert),
                      operations=OPERATIONS)


@router.get("/{alert_id}/activity")
def alert_activity(alert_id: str, request: Request,
                   principal: Principal = Depends(web.page("alerts:read"))) -> HTMLResponse:
    """Status, notes, history and playbook runs alone: the alert page polls this."""
    alert = visible_alert(request, principal, alert_id)  # a 404 is the console's error page
    return web.render(request, "alert_activity.html", alert=alert)
