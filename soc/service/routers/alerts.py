"""``/v1/alerts``: list with filters and pages, detail, and triage (status, assignee, notes)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from classifier.dates import RFC3339, parse_rfc3339
from soc.alerts.query import AlertFilter
from soc.service.auth.principal import Principal
from soc.service.deps import get_state, require
from soc.service.errors import ApiError
from soc.service.schemas import BODY, Omittable, StrictModel, errors

router = APIRouter(tags=["alerts"])
Status = Literal["new", "acknowledged", "in_progress", "resolved", "false_positive"]
Severity = Literal["informational", "low", "medium", "high", "critical"]
NOT_FOUND = "unknown alert, or one outside the key's datasets"


class AlertPage(BaseModel):
    items: list[dict[str, Any]]
    total: int
    limit: int
    offset: int


class AlertPatch(StrictModel):
    """At least one field; ``null`` is not a value (omit the field instead)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"minProperties": 1})
    status: Annotated[Status | SkipJsonSchema[None], Omittable] = None
    assignee: Annotated[Annotated[str, Field(min_length=1)] | SkipJsonSchema[None], Omittable] = None
    notes: Annotated[Annotated[str, Field(min_length=1)] | SkipJsonSchema[None], Omittable] = Field(
        default=None, description="a note appended to the alert")


def _bound(name: str, text: str | None, edge: datetime) -> datetime | None:
    """A ``since``/``until`` parameter: RFC 3339 with an offset, nothing looser. A valid one whose
    instant falls outside years 0001–9999 in UTC bounds nothing (``edge``), rather than a 400."""
    if text is None:
        return None
    try:
        return parse_rfc3339(text)
    except ValueError as exc:
        if RFC3339.match(text):
            try:
                datetime.fromisoformat(text)
            except ValueError:
                pass
            else:
                return edge
        raise ApiError(400, f"{name}: {exc}", field=name) from None


_TIME = {"format": "date-time", "examples": ["2026-03-01T09:15:02+08:00"]}


def visible(principal: Principal, alert: dict[str, Any]) -> bool:
    """A key limited to datasets sees the alerts that touch one of them."""
    return principal.datasets is None or bool(set(alert.get("datasets") or []) & principal.datasets)


@router.get("/v1/alerts", response_model=AlertPage, summary="Alerts, newest first", responses=errors())
def list_alerts(
    request: Request,
    status: Status | None = None,
    severity: Severity | None = None,
    user: str | None = Query(default=None, description="an actor among the alert's users"),
    dataset: str | None = Query(default=None, description="a dataset the alert touches"),
    since: str | None = Query(default=None, description="last_seen at or after (RFC 3339 with offset)",
                              json_schema_extra=_TIME),
    until: str | None = Query(default=None, description="first_seen at or before (RFC 3339 with offset)",
                              json_schema_extra=_TIME),
    limit: int = Query(default=50, ge=1, le=1000),
    offset: int = Query(default=0, ge=0),
    principal: Principal = Depends(require("alerts:read")),
) -> AlertPage:
    since_at = _bound("since", since, datetime.min.replace(tzinfo=timezone.utc))
    until_at = _bound("until", until, datetime.max.replace(tzinfo=timezone.utc))
    alerts = get_state(request).backends.alerts().list(status=status)
    wanted = AlertFilter(severity=severity, user=user, dataset=dataset, since=since_at, until=until_at)
    out = [a for a in alerts if visible(principal, a) and wanted.matches(a)]
    return AlertPage(items=out[offset:offset + limit], total=len(out), limit=limit, offset=offset)


def visible_alert(request: Request, principal: Principal, alert_id: str) -> dict[str, Any]:
    alert = get_state(request).backends.alerts().store.get(alert_id)
    if alert is None or not visible(principal, alert):
        raise ApiError(404, f"no alert with id '{alert_id}'", field="alert_id")
    return alert


@router.get("/v1/alerts/{alert_id}", summary="One alert with its history", responses=errors(404, e404=NOT_FOUND))
def get_alert(alert_id: str, request: Request,
              principal: Principal = Depends(require("alerts:read"))) -> dict[str, Any]:
    return visible_alert(request, principal, alert_id)


@router.patch("/v1/alerts/{alert_id}", summary="Triage: status, assignee, notes",
              responses=errors(404, 409, *BODY, e404=NOT_FOUND, e409="lifecycle change not allowed"))
def patch_alert(alert_id: str, body: AlertPatch, request: Request,
                principal: Principal = Depends(require("alerts:update"))) -> dict[str, Any]:
    if body.status is None and body.assignee is None and body.notes is None:
        raise ApiError(400, "give at least one of status, assignee, notes", field="status")
    return triage(request, principal, alert_id, body)


def triage(request: Request, principal: Principal, alert_id: str, body: AlertPatch) -> dict[str, Any]:
    """One triage change and its ``api_call`` audit event — the API's PATCH and the console's
    buttons (one alert or in bulk) both come through here."""
    from soc.alerts.manager import AlertError

    state = get_state(request)
    visible_alert(request, principal, alert_id)
    manager = state.backends.alerts()
    by = principal.subject
    try:
        alert = manager.get(alert_id)
        if body.notes is not None:
            alert = manager.note(alert_id, body.notes, by)
        if body.assignee is not None:
            alert = manager.assign(alert_id, body.assignee, by)
        if body.status is not None and body.status != alert["status"]:
            if body.status == "acknowledged":
                alert = manager.acknowledge(alert_id, by)
            elif body.status == "in_progress":  # taking an alert without naming someone: it is yours
                alert = manager.assign(alert_id, alert.get("assignee") or by, by)
            elif body.status in ("resolved", "false_positive"):
                alert = manager.resolve(alert_id, by, false_positive=body.status == "false_positive")
            else:
                raise AlertError(f"alert {alert_id} is {alert['status']}; it cannot become new again")
    except AlertError as exc:
        raise ApiError(409, str(exc), code="conflict", field="status") from None
    state.record("api_call", principal, request_id=request.state.request_id,
                 extra={"endpoint": "PATCH /v1/alerts", "alert_id": alert_id,
                        "change": body.model_dump(exclude_none=True)})
    return alert
