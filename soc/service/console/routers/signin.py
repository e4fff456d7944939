"""Sign-in with an API key (or an OIDC token when configured) → a server-side session; sign-out."""

from __future__ import annotations

import hmac
import secrets
from datetime import datetime, timezone

import jwt

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from soc.service.auth.principal import Principal
from soc.service.console import web
from soc.service.deps import get_state, principal_for_token
from soc.service.errors import ApiError

router = APIRouter(prefix=web.PREFIX, include_in_schema=False)


def _safe_next(target: str | None) -> str:
    """Only a console path (no open redirect to another site)."""
    if target and target.startswith(web.PREFIX + "/") and not target.startswith("//") and "\\" not in target:
        return target
    return web.PREFIX + "/"


def _form(request: Request, message: str | None = None, status: int = 200, target: str | None = None) -> Response:
    token = secrets.token_urlsafe(32)
    response = web.render(request, "signin.html", status=status, message=message, signin_token=token,
                          next=_safe_next(target or request.query_params.get("next")))
    response.set_cookie(web.PRE_COOKIE, token, max_age=900, path=web.PREFIX, httponly=True, samesite="strict",
                        secure=web.secure(request))
    return response


@router.get("/signin")
def signin_form(request: Request) -> Response:
    return _form(request)


@router.post("/signin")
async def signin(request: Request) -> Response:
    form = await request.form()
    presented, expected = str(form.get(web.CSRF_FIELD, "")), request.cookies.get(web.PRE_COOKIE, "")
    target = str(form.get("next", ""))
    if not expected or not hmac.compare_digest(presented, expected):
        return _form(request, "登录表单已过期 The sign-in form expired: try again", 403, target)
    credential = str(form.get("api_key", "")).strip()
    if not credential:
        return _form(request, "请输入 API 密钥 Enter an API key", 400, target)
    state = get_state(request)
    try:
        principal = principal_for_token(state, credential)
    except ApiError as exc:
        state.record("api_call", _anonymous(), wait=False, result="denied",
                     request_id=getattr(request.state, "request_id", None),
                     extra={"endpoint": "POST /console/signin", "reason": exc.message})
        return _form(request, f"登录失败 Sign-in failed: {exc.message}", 401, target)
    cookie, session = web.store(request).create(principal, _token_expiry(credential) if principal.key_id is None else None)
    state.record("api_call", principal, wait=False, request_id=getattr(request.state, "request_id", None),
                 extra={"endpoint": "POST /console/signin", "session_expires": session.expires_at.isoformat()})
    response = RedirectResponse(_safe_next(target), status_code=303)
    response.set_cookie(web.COOKIE, cookie, max_age=int(web.store(request).lifetime.total_seconds()),
                        path=web.PREFIX, httponly=True, samesite="strict", secure=web.secure(request))
    response.delete_cookie(web.PRE_COOKIE, path=web.PREFIX, httponly=True, samesite="strict", secure=web.secure(request))
    return response


@router.post("/signout")
async def signout(request: Request) -> Response:
    session = web.current(request)
    if session is not None:
        form = await request.form()
        presented = request.headers.get(web.CSRF_HEADER) or str(form.get(web.CSRF_FIELD, ""))
        if not hmac.compare_digest(presented, session.csrf):
            raise web.Forbidden("missing or wrong CSRF token: reload the page and try again")
        web.store(request).delete(session.session_id)
        get_state(request).record("api_call", session.principal, wait=False,
                                  request_id=getattr(request.state, "request_id", None),
                                  extra={"endpoint": "POST /console/signout"})
    response = RedirectResponse(web.PREFIX + "/signin", status_code=303)
    response.delete_cookie(web.COOKIE, path=web.PREFIX, httponly=True, samesite="strict", secure=web.secure(request))
    return response


def _token_expiry(token: str) -> datetime | None:
    """An OIDC token's ``exp`` (already verified by principal_for_token): the session ends with it."""
    exp = jwt.decode(token, options={"verify_signature": False}).get("exp")
    return datetime.fromtimestamp(exp, timezone.utc) if isinstance(exp, (int, float)) else None


def _anonymous() -> Principal:
    return Principal(subject="anonymous", role="none", datasets=frozenset(), grants=frozenset())
