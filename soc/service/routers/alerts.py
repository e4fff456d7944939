"""``/v1/alerts``: list with filters and pages, detail, and triage (status, assignee, notes)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from soc.alerts.query import AlertFilter
from soc.service.auth.principal import Principal
from soc.service.deps import get_state, require
from soc.service.errors import ApiError
from soc.service.schemas import ERRORS

router = APIRouter(tags=["alerts"])
Status = Literal["new", "acknowledged", "in_progress", "resolved", "false_positive"]
Severity = Literal["informational", "low", "medium", "high", "critical"]
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "unknown alert", "model": ERRORS[400]["model"]}}


class AlertPage(BaseModel):
    items: list[dict[str, Any]]
    total: int
    limit: int
    offset: int


class AlertPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: Status | None = None
    assignee: str | None = Field(default=None, min_length=1)
    notes: str | None = Field(default=None, min_length=1, description="a note appended to the alert")


def _visible(principal: Principal, alert: dict[str, Any]) -> bool:
    """A key limited to datasets sees the alerts that touch one of them."""
    return principal.datasets is None or bool(set(alert.get("datasets") or []) & principal.datasets)


@router.get("/v1/alerts", response_model=AlertPage, summary="Alerts, newest first", responses={**ERRORS})
def list_alerts(
    request: Request,
    status: Status | None = None,
    severity: Severity | None = None,
    user: str | None = Query(default=None, description="an actor among the alert's users"),
    dataset: str | None = Query(default=None, description="a dataset the alert touches"),
    since: datetime | None = Query(default=None, description="last_seen at or after (RFC 3339)"),
    until: datetime | None = Query(default=None, description="first_seen at or before (RFC 3339)"),
    limit: int = Query(default=50, ge=1, le=1000),
    offset: int = Query(default=0, ge=0),
    principal: Principal = Depends(require("alerts:read")),
) -> AlertPage:
    alerts = get_state(request).backends.alerts().list(status=status)
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.tzinfo is None:
            raise ApiError(400, f"{name}: give a time zone offset (RFC 3339)", field=name)
    wanted = AlertFilter(severity=severity, user=user, dataset=dataset, since=since, until=until)
    out = [a for a in alerts if _visible(principal, a) and wanted.matches(a)]
    return AlertPage(items=out[offset:offset + limit], total=len(out), limit=limit, offset=offset)


def _get(request: Request, principal: Principal, alert_id: str) -> dict[str, Any]:
    alert = get_state(request).backends.alerts().store.get(alert_id)
    if alert is None or not _visible(principal, alert):
        raise ApiError(404, f"no alert with id '{alert_id}'", field="alert_id")
    return alert


@router.get("/v1/alerts/{alert_id}", summary="One alert with its history", responses={**ERRORS, **NOT_FOUND})
def get_alert(alert_id: str, request: Request,
              principal: Principal = Depends(require("alerts:read"))) -> dict[str, Any]:
    return _get(request, principal, alert_id)


@router.patch("/v1/alerts/{alert_id}", summary="Triage: status, assignee, notes",
              responses={**ERRORS, **NOT_FOUND, 409: {"description": "lifecycle change not allowed",
                                                      "model": ERRORS[400]["model"]}})
def patch_alert(alert_id: str, body: AlertPatch, request: Request,
                principal: Principal = Depends(require("alerts:update"))) -> dict[str, Any]:
    from soc.alerts.manager import AlertError

    state = get_state(request)
    _get(request, principal, alert_id)
    if body.status is None and body.assignee is None and body.notes is None:
        raise ApiError(400, "give at least one of status, assignee, notes", field="status")
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
