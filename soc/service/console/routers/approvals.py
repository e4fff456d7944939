"""Approvals (授权): requests to decide, approvals in force, expiring soon, revoke; releases by
consumer. Decisions go through the API's :func:`decide_approval` (same checks, same events)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import ValidationError
from starlette.responses import HTMLResponse, RedirectResponse, Response

from classifier.errors import validation_error
from crypto.share import approvals as store
from crypto.share import releases
from soc.service.auth.principal import Principal
from soc.service.console import web
from soc.service.deps import get_state
from soc.service.errors import ApiError
from soc.service.routers.approvals import DecisionRequest, decide_approval

router = APIRouter(prefix=web.PREFIX + "/approvals", include_in_schema=False)
EXPIRING_DAYS = 30


@router.get("")
def approvals_page(request: Request, principal: Principal = Depends(web.page("approvals:read"))) -> HTMLResponse:
    data_dir = get_state(request).settings.data_dir
    today = date.today()
    found = [a for a in store.list_approvals(data_dir, today) if principal.may_see(a.dataset)]
    soon = today + timedelta(days=EXPIRING_DAYS)
    in_force = [a for a in found if a.state(today) == "approved"]
    by_consumer: dict[tuple[Any, ...], list[releases.Release]] = defaultdict(list)
    for rel in releases.list_releases(data_dir):
        if principal.may_see(rel.dataset):
            c = rel.caller
            by_consumer[(c.get("org") or "", c.get("role") or "", c.get("user") or "")].append(rel)
    return web.render(request, "approvals.html", today=today, expiring_days=EXPIRING_DAYS,
                      pending=[a for a in found if a.state(today) == "pending"], in_force=in_force,
                      expiring=[a for a in in_force if a.valid_until <= soon],
                      closed=[a for a in found if a.state(today) in ("rejected", "revoked", "expired")],
                      consumers=sorted(by_consumer.items()), done=request.query_params.get("done"))


@router.post("/{approval_id}/decision")
async def decision(approval_id: str, request: Request,
                   principal: Principal = Depends(web.action("approvals:decide"))) -> Response:
    form = await request.form()
    comment = str(form.get("comment", "")).strip() or None
    try:
        body = DecisionRequest.model_validate({"operation": str(form.get("operation", "")), "comment": comment})
        decide_approval(request, principal, approval_id, body)
    except ValidationError as exc:
        field, msg = validation_error(exc)
        return web.error_page(request, 400, f"{field}: {msg}" if field else msg)
    except ApiError as exc:
        return web.api_error(request, exc)
    return RedirectResponse(f"{web.PREFIX}/approvals?done={approval_id}", status_code=303)
