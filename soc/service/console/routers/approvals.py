"""Approvals (授权): requests to decide, approvals in force, expiring soon, revoke; releases by
consumer; trace a suspected leak by upload. Decisions go through the API's :func:`decide_approval`
and traces through its :func:`trace_leak` (same checks, same audit events, same leak alert)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import ValidationError
from starlette.datastructures import UploadFile
from starlette.responses import HTMLResponse, RedirectResponse, Response

from crypto.share import approvals as store
from crypto.share import releases
from soc.service.auth.principal import Principal
from soc.service.console import web
from soc.service.deps import get_state
from soc.service.errors import ApiError
from soc.service.routers.approvals import DecisionRequest, decide_approval
from soc.service.routers.audit import NDJSON_TYPES
from soc.service.routers.trace import trace_leak

router = APIRouter(prefix=web.PREFIX + "/approvals", include_in_schema=False)
EXPIRING_DAYS = 30
# The upload's content type by its name (browsers send CSV as anything from text/csv to Excel's type).
UPLOAD_TYPES = {".csv": "text/csv", ".jsonl": NDJSON_TYPES[0], ".ndjson": NDJSON_TYPES[0], ".json": "application/json"}


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
        return web.invalid_form(request, exc)
    except ApiError as exc:
        return web.api_error(request, exc)
    return RedirectResponse(f"{web.PREFIX}/approvals?done={approval_id}", status_code=303)


@router.post("/trace")
async def trace(request: Request, principal: Principal = Depends(web.action("trace"))) -> Response:
    """Which recorded release an uploaded leak came from: verdict, release, recipient, p-value."""
    form = await request.form()
    upload = form.get("leak")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return web.error_page(request, 400, "leak: choose the leaked file (CSV, JSON Lines or JSON) to trace")
    suffix = "." + upload.filename.rsplit(".", 1)[-1].lower() if "." in upload.filename else ""
    ctype = UPLOAD_TYPES.get(suffix)
    if ctype is None:
        return web.error_page(request, 415, f"{upload.filename}: send a .csv, .jsonl or .json file")
    limit = get_state(request).options.audit_max_bytes
    body = await upload.read(limit + 1)
    if len(body) > limit:
        return web.error_page(request, 413, f"{upload.filename}: exceeds {limit} bytes")
    dataset = str(form.get("dataset", "")).strip() or None
    try:
        result = await trace_leak(request, principal, body, ctype, dataset)
    except ApiError as exc:
        return web.error_page(request, exc.status, f"{upload.filename}: {exc.message}")
    return web.render(request, "trace.html", result=result, filename=upload.filename, dataset=dataset)
