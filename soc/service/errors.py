"""One error shape for every failure: ``{"error": {"code", "message", "field", "request_id"}}``.

Every handler below renders through :func:`error_response`, so a client never meets FastAPI's
default ``{"detail": ...}`` body or a stack trace.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import compile_path

from classifier.errors import validation_error

log = logging.getLogger("shuwei.service")

_STATUS_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
                 405: "method_not_allowed", 409: "conflict", 413: "payload_too_large",
                 415: "unsupported_media_type", 422: "unprocessable", 429: "rate_limited",
                 500: "internal_error", 503: "unavailable"}


class ApiError(Exception):
    """Raised by routes and dependencies; rendered by :func:`install_error_handlers`."""

    def __init__(self, status: int, message: str, *, code: str | None = None, field: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code or _STATUS_CODES.get(status, "error")
        self.message = message
        self.field = field
        self.headers = headers or {}


def error_body(status: int, message: str, *, code: str | None = None, field: str | None = None,
               request_id: str | None = None) -> bytes:
    body: dict[str, Any] = {"error": {"code": code or _STATUS_CODES.get(status, "error"),
                                      "message": message, "field": field, "request_id": request_id}}
    return json.dumps(body, ensure_ascii=False).encode()


def error_response(request: Request | None, status: int, message: str, *, code: str | None = None,
                   field: str | None = None, headers: dict[str, str] | None = None) -> Response:
    rid = getattr(request.state, "request_id", None) if request is not None else None
    # A page of the console gets its error as a page (a person reads it, not a client); the console
    # installs that hook, so the API's error shape stays the only one the service itself knows.
    page = getattr(request.app.state, "error_page", None) if request is not None else None
    if page is not None:
        try:
            html = page(request, status, message, rid)
        except Exception:  # the page itself failed: the error still gets its answer, as JSON
            log.exception("console error page failed for %s", request.url.path)  # type: ignore[union-attr]
            html = None
        if html is not None:
            return html
    return Response(error_body(status, message, code=code, field=field, request_id=rid), status_code=status,
                    media_type="application/json", headers=headers)


def _not_json(request: Request) -> bool:
    ctype = request.headers.get("content-type")
    if ctype is None:
        return False
    media = ctype.split(";")[0].strip().lower()
    return not (media == "application/json" or (media.startswith("application/") and media.endswith("+json")))


def _allowed_methods(request: Request) -> list[str]:
    """The methods the OpenAPI document lists for this path: a concrete path (``/v1/datasets/scans``)
    takes precedence over templates that also match it (``/v1/datasets/{dataset}``), as in OpenAPI."""
    app = request.app
    paths = getattr(app.state, "allow_index", None)
    if paths is None:  # built once: the document does not change while the app runs
        paths = [(path, compile_path(path)[0], {m.upper() for m in ops})
                 for path, ops in app.openapi().get("paths", {}).items()]
        app.state.allow_index = paths
    path = request.url.path
    exact = [ops for template, _, ops in paths if template == path]
    matching = exact or [ops for _, regex, ops in paths if regex.match(path)]
    return sorted(set().union(*matching))


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> Response:
        return error_response(request, exc.status, exc.message, code=exc.code, field=exc.field,
                              headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        # FastAPI parses a body as JSON only when the Content-Type says JSON (or is absent); any
        # other type leaves raw bytes that fail the model. That is the client's media type, not its
        # data: 415, for every JSON route at once.
        if _not_json(request) and any((e.get("loc") or ("",))[0] == "body" for e in exc.errors()):
            ctype = request.headers["content-type"].split(";")[0].strip()
            return error_response(request, 415, f"content type '{ctype}' not supported: send application/json",
                                  field="Content-Type")
        # The masking contract answers malformed bodies with 400 (422 is reserved for policy errors).
        err: dict[str, Any] = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        field, msg = validation_error(exc, drop=("body", "query", "path", "header"))
        if err.get("type") == "json_invalid":
            msg = f"body is not valid JSON: {err.get('ctx', {}).get('error', msg)}"
            field = None
        return error_response(request, 400, f"{field}: {msg}" if field else msg, code="invalid_request",
                              field=field)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        message = exc.detail if isinstance(exc.detail, str) else _STATUS_CODES.get(exc.status_code, "error")
        if exc.status_code == 404 and message == "Not Found":
            message = f"no such endpoint: {request.method} {request.url.path}"
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            message = f"method {request.method} not allowed on {request.url.path}"
            # Starlette names only the first route that matched the path; a path served by several
            # routes (GET and PATCH /v1/alerts/{id}) allows the methods of all of them.
            headers["Allow"] = ", ".join(_allowed_methods(request))
        return error_response(request, exc.status_code, message, headers=headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(request, 500, "internal error; see the server log with this request id")
