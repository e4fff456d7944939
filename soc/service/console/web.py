"""What every console page shares: templates, security headers, the session, RBAC and CSRF.

Every page and action names one permission of ``policies/roles.yaml`` and goes through
:func:`page` (read) or :func:`action` (state-changing: also the CSRF token) — the same matrix, the
same refusal audit event (:func:`soc.service.deps.refusal`) and the same rate limit as the API.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Depends, Request
from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import ValidationError
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from classifier.errors import validation_error
from soc.service.auth.principal import Principal
from soc.service.console.sessions import Session, SessionStore
from soc.service.deps import get_state, refusal, scoped, throttle
from soc.service.errors import ApiError

PREFIX = "/console"
COOKIE = "shuwei_console"
PRE_COOKIE = "shuwei_console_signin"   # double-submit token of the sign-in form (no session yet)
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
HERE = Path(__file__).resolve().parent
# No inline script or style anywhere (htmx is told not to add its indicator <style> and not to eval);
# SVG charts use presentation attributes and classes, which style-src does not govern.
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'")
HEADERS = [(b"content-security-policy", CSP.encode()), (b"x-content-type-options", b"nosniff"),
           (b"x-frame-options", b"DENY"), (b"referrer-policy", b"no-referrer"),
           (b"cache-control", b"no-store")]
# Pages in the navigation, each shown only to roles holding its permission.
NAV = (("overview", "概览 Overview", "whoami"), ("alerts", "告警 Alerts", "alerts:read"),
       ("datasets", "数据集 Datasets", "datasets:read"), ("approvals", "授权 Approvals", "approvals:read"),
       ("masking", "脱敏 Masking", "mask"),
       ("evidence", "证据 Evidence", "evidence:export"), ("keys", "密钥 Keys", "keys:read"))

templates = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(default=True),
                        trim_blocks=True, lstrip_blocks=True)


class SignInRequired(Exception):
    """No live session: pages redirect to the sign-in form, htmx requests are told to."""


class Forbidden(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ConsoleHeaders:
    """Security headers on every /console response (pages, partials, redirects, static files)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope.get("path", "").startswith(PREFIX):
            await self.app(scope, receive, send)
            return

        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {h[0] for h in HEADERS}
                headers = [h for h in message.get("headers", []) if h[0].lower() not in names] + HEADERS
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, wrapped)


def store(request: Request) -> SessionStore:
    sessions: SessionStore = request.app.state.console_sessions
    return sessions


def secure(request: Request) -> bool:
    """Cookies are ``Secure`` when the console is reached over TLS (directly or via --proxy-headers)."""
    return request.url.scheme == "https"


def current(request: Request) -> Session | None:
    cookie = request.cookies.get(COOKIE)
    if not cookie:
        return None
    session = store(request).get(cookie)
    if session is None:
        return None
    key_id = session.principal.key_id
    if key_id is not None:  # a key revoked after sign-in ends its sessions at once
        key = get_state(request).keys.get(key_id)
        if key is None or key.revoked_at is not None:
            store(request).delete(session.session_id)
            return None
    return session


def _signed_in(request: Request, permission: str) -> tuple[Principal, Session]:
    session = current(request)
    if session is None:
        raise SignInRequired()
    state = get_state(request)
    principal = scoped(state, session.principal)
    throttle(state, principal)
    reason = refusal(request, principal, permission)
    if reason is not None:
        raise Forbidden(reason)
    request.state.principal = principal
    request.state.console_session = session
    return principal, session


def page(permission: str) -> Callable[..., Principal]:
    """Dependency: a signed-in caller holding ``permission``."""

    def dependency(request: Request) -> Principal:
        return _signed_in(request, permission)[0]

    dependency.__name__ = f"page_{permission.replace(':', '_')}"
    return dependency


def action(permission: str) -> Callable[..., Awaitable[Principal]]:
    """Dependency for a state-changing request: ``permission`` and the session's CSRF token (form
    field ``csrf_token`` or header ``X-CSRF-Token``, as htmx sends it)."""

    async def dependency(request: Request) -> Principal:
        principal, session = _signed_in(request, permission)
        presented = request.headers.get(CSRF_HEADER)
        if presented is None:
            form = await request.form()
            value = form.get(CSRF_FIELD)
            presented = value if isinstance(value, str) else None
        if not presented or not hmac.compare_digest(presented, session.csrf):
            raise Forbidden("missing or wrong CSRF token: reload the page and try again")
        return principal

    dependency.__name__ = f"action_{permission.replace(':', '_')}"
    return dependency


def allowed(request: Request, principal: Principal, permission: str) -> bool:
    return get_state(request).roles.allows(principal.role, permission, principal.grants)


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    """A page (or an htmx partial) with the navigation the caller's role allows."""
    principal: Principal | None = getattr(request.state, "principal", None)
    session: Session | None = getattr(request.state, "console_session", None)
    nav = [(name, label) for name, label, perm in NAV
           if principal is not None and allowed(request, principal, perm)]
    can = (lambda perm: allowed(request, principal, perm)) if principal is not None else (lambda perm: False)
    body = templates.get_template(template).render(
        request=request, principal=principal, csrf=session.csrf if session else "", nav=nav, can=can,
        prefix=PREFIX, csrf_field=CSRF_FIELD, **context)
    return HTMLResponse(body, status_code=status)


def error_page(request: Request, status: int, message: str, request_id: str | None = None) -> HTMLResponse:
    return render(request, "error.html", status=status, status_code=status, message=message,
                  request_id=request_id)


def page_error(request: Request, status: int, message: str, request_id: str | None) -> HTMLResponse | None:
    """The service's error hook: a console page (not its static files, not an htmx partial, whose
    caller shows the status itself) that fails — unknown path, 405, unexpected 500 — answers HTML."""
    path = request.url.path
    if not (path == PREFIX or path.startswith(PREFIX + "/")) or path.startswith(PREFIX + "/static/"):
        return None
    if request.headers.get("hx-request"):
        return None
    if getattr(request.state, "principal", None) is None:  # no route ran: the navigation still
        session = current(request)                            # belongs to whoever is signed in
        if session is not None:
            request.state.principal = scoped(get_state(request), session.principal)
            request.state.console_session = session
    return error_page(request, status, message, request_id)


def form_message(exc: ValidationError) -> str:
    """A refused form in the API's words: ``field: reason``."""
    field, msg = validation_error(exc)
    return f"{field}: {msg}" if field else msg


def invalid_form(request: Request, exc: ValidationError) -> HTMLResponse:
    return error_page(request, 400, form_message(exc))


def api_error(request: Request, exc: ApiError) -> HTMLResponse:
    """A refusal from the shared service function (404, 409, 422 …) shown as a page, same words."""
    return error_page(request, exc.status, exc.message)


def to_sign_in(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    location = f"{PREFIX}/signin?next={quote(target, safe='')}"
    if request.headers.get("hx-request"):
        return Response(status_code=401, headers={"HX-Redirect": location})
    return RedirectResponse(location, status_code=303)
