"""Keys (admin): keyring versions, states and ages; rotate with a typed confirmation. Metadata
only (:meth:`Keyring.entries`) — key material never reaches a page. Rotation is the keyring's own
``key_rotate`` audit event, with the signed-in admin as its user."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import HTMLResponse, RedirectResponse, Response

from soc.service.auth.principal import Principal
from soc.service.console import web
from soc.service.deps import get_state

router = APIRouter(prefix=web.PREFIX + "/keys", include_in_schema=False)


def _ring(request: Request, actor: str) -> Any:
    from crypto.keyring import Keyring

    return Keyring.open(get_state(request).settings, actor=actor)


def _age_days(created: str, now: datetime) -> int | None:
    try:
        return (now - datetime.fromisoformat(created)).days
    except (TypeError, ValueError):
        return None


@router.get("")
async def keys_page(request: Request, principal: Principal = Depends(web.page("keys:read"))) -> HTMLResponse:
    from crypto.errors import CryptoError

    try:
        rows = await run_in_threadpool(lambda: _ring(request, principal.subject).entries())
    except CryptoError as exc:
        return web.error_page(request, 503, f"the keyring cannot be opened: {exc}")
    now = datetime.now(timezone.utc)
    for row in rows:
        row["age_days"] = _age_days(row["created"], now)
    return web.render(request, "keys.html", rows=rows, done=request.query_params.get("rotated"))


@router.post("/{key_id}/rotate")
async def rotate(key_id: str, request: Request, principal: Principal = Depends(web.action("keys:rotate"))) -> Response:
    from crypto.errors import CryptoError

    form = await request.form()
    if str(form.get("confirm", "")) != key_id:
        return web.error_page(request, 400, f"轮换未确认 Not rotated: type the key id '{key_id}' to confirm")
    try:
        version = await run_in_threadpool(lambda: _ring(request, principal.subject).rotate(key_id))
    except CryptoError as exc:
        return web.error_page(request, 409, str(exc))
    return RedirectResponse(f"{web.PREFIX}/keys?rotated={key_id}%20v{version}", status_code=303)
