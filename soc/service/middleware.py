"""Pure ASGI middleware (no BaseHTTPMiddleware: it costs a task per request on the hot path).

One layer does what every request needs: a request id (also in every log record of the call, via
:data:`soc.logsetup.request_id`), the global body-size cap, metrics, an access line at INFO, and a
last-resort JSON 500 so no failure escapes as a bare stack trace or loses its ``X-Request-ID``.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from soc.logsetup import request_id
from soc.service.errors import error_body
from soc.service.metrics import LATENCY, REQUESTS

log = logging.getLogger("shuwei.service")
_CLIENT_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


class BodyTooLarge(HTTPException):
    """An HTTPException so FastAPI's body parser re-raises it instead of turning it into a 400."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body exceeds the limit of {limit} bytes")


class ServiceMiddleware:
    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        rid = _request_id(scope)
        scope.setdefault("state", {})["request_id"] = rid
        token = request_id.set(rid)
        header_rid = rid.encode()
        status_holder = [500]
        started = [False]

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                started[0] = True
                status_holder[0] = message["status"]
                headers = [h for h in message.get("headers", []) if h[0].lower() != b"x-request-id"]
                headers.append((b"x-request-id", header_rid))
                message = {**message, "headers": headers}
            await send(message)

        try:
            length = _content_length(scope)
            if length is not None and length > self.max_body_bytes:
                await _send_error(send_wrapper, 413, f"request body of {length} bytes exceeds the "
                                  f"limit of {self.max_body_bytes} bytes", rid)
            else:
                await self.app(scope, _limited(receive, self.max_body_bytes), send_wrapper)
        except BodyTooLarge:
            if not started[0]:
                await _send_error(send_wrapper, 413, f"request body exceeds the limit of "
                                  f"{self.max_body_bytes} bytes", rid)
        except Exception:
            log.exception("unhandled error")
            if not started[0]:
                await _send_error(send_wrapper, 500, "internal error; see the server log with this "
                                  "request id", rid)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            method = scope.get("method", "")
            elapsed = time.perf_counter() - start
            REQUESTS.labels(method, template, str(status_holder[0])).inc()
            LATENCY.labels(method, template).observe(elapsed)
            if log.isEnabledFor(logging.INFO):  # the route template, never a query string or a body
                log.info("%s %s %d %.1f ms", method, template, status_holder[0], elapsed * 1000)
            request_id.reset(token)


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            text = value.decode("latin-1")
            if _CLIENT_ID.match(text):
                return text
            break
    return uuid.uuid4().hex


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _limited(receive: Receive, limit: int) -> Receive:
    """Count streamed (chunked) body bytes too: Content-Length alone can be absent or a lie."""
    seen = [0]

    async def wrapped() -> Message:
        message = await receive()
        if message["type"] == "http.request":
            seen[0] += len(message.get("body", b""))
            if seen[0] > limit:
                raise BodyTooLarge(limit)
        return message

    return wrapped


async def _send_error(send: Send, status: int, message: str, rid: str) -> None:
    body = error_body(status, message, request_id=rid)
    headers: list[Any] = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
