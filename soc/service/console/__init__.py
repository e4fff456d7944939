"""The web console under ``/console``: server-rendered pages on the API's roles, audit and stores.

Jinja2 templates and static files (htmx, CSS) ship inside this package — no CDN, no build step.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response

from soc.service.console import web
from soc.service.console.routers import alerts, approvals, datasets, evidence, keys, masking, overview, signin
from soc.service.console.sessions import SessionStore
from soc.service.state import ServiceState

ROUTERS = tuple(m.router for m in (signin, overview, alerts, datasets, approvals, masking, evidence, keys))


def install(app: FastAPI, state: ServiceState) -> None:
    app.state.console_sessions = SessionStore(state.settings.data_dir, state.options.console.session_minutes)
    app.mount(web.PREFIX + "/static", StaticFiles(directory=web.HERE / "static"), name="console-static")
    for router in ROUTERS:
        app.include_router(router)
    app.add_middleware(web.ConsoleHeaders)
    app.state.error_page = web.page_error

    @app.exception_handler(web.SignInRequired)
    async def _sign_in(request: Request, exc: web.SignInRequired) -> Response:
        return web.to_sign_in(request)

    @app.exception_handler(web.Forbidden)
    async def _forbidden(request: Request, exc: web.Forbidden) -> Response:
        return web.error_page(request, 403, exc.reason)
