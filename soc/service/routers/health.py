"""Liveness, readiness and metrics: unauthenticated, for orchestrators and Prometheus."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST

from soc.service.deps import get_state
from soc.service.metrics import AlertStateCollector, render

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The process answers")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="Every backend opens",
            responses={503: {"description": "a backend cannot be opened"}})
def readyz(request: Request) -> Response:
    state = get_state(request)
    checks: dict[str, Any] = {}
    for name, opener in (("api_keys", lambda: state.keys.list()), ("keyring", state.backends.keyring),
                         ("catalog", state.backends.catalog),
                         ("masking", state.backends.masking), ("soc", state.backends.pipeline)):
        try:
            opener()
            checks[name] = "ok"
        except Exception as exc:  # report which backend is not ready, never a traceback
            checks[name] = f"error: {type(exc).__name__}: {exc}"[:300]
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse({"status": "ready" if ready else "not ready", "checks": checks},
                        status_code=200 if ready else 503)


@router.get("/metrics", summary="Prometheus text exposition", response_class=Response)
def metrics(request: Request) -> Response:
    state = get_state(request)
    return Response(render(AlertStateCollector(state.alert_counts)), media_type=CONTENT_TYPE_LATEST)
