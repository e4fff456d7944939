"""``create_app(settings)``: the FastAPI application (larger-application layout, a router per area)."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from classifier.settings import Settings, get_settings
from soc.service import console
from soc.service.errors import install_error_handlers
from soc.service.middleware import ServiceMiddleware
from soc.service.routers import (alerts, approvals, audit, crypto, datasets, evidence, health, mask, trace,
                                 whoami)
from soc.service.state import ServiceState

DESCRIPTION = """数卫 Shuwei HTTP API. Authenticate with `Authorization: Bearer <API key or OIDC token>`.
Every error is `{"error": {"code", "message", "field", "request_id"}}`; every response carries `X-Request-ID`."""
DOCS_ASSETS = "/docs-assets"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    state = ServiceState(settings)
    # Swagger UI and ReDoc with their scripts from the fastapi-offline package, not a CDN: /docs works
    # on an air-gapped network.
    app = FastAPIOffline(title="Shuwei 数卫", version="1.0", description=DESCRIPTION, static_url=DOCS_ASSETS)
    app.state.shuwei = state
    state.install_audit_sink()
    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(whoami.router)
    app.include_router(mask.router)
    app.include_router(crypto.router)
    app.include_router(audit.router)
    app.include_router(datasets.router)
    app.include_router(alerts.router)
    app.include_router(approvals.router)
    app.include_router(evidence.router)
    app.include_router(trace.router)
    console.install(app, state)
    app.add_middleware(ServiceMiddleware, max_body_bytes=state.options.max_body_bytes)
    return app


def app_factory() -> FastAPI:
    """Entry point for ``uvicorn --factory`` (each worker builds its own app from the environment)."""
    return create_app()
