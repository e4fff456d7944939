"""Shared OpenAPI pieces: the error body every endpoint documents."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class ErrorDetail(BaseModel):
    code: str
    message: str
    field: str | None
    request_id: str | None


class ErrorBody(BaseModel):
    error: ErrorDetail


ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "malformed body or record", "model": ErrorBody},
    401: {"description": "no or bad credentials", "model": ErrorBody},
    403: {"description": "the key's role or datasets do not allow this", "model": ErrorBody},
    413: {"description": "body or batch over the configured limit", "model": ErrorBody},
    429: {"description": "rate limit of the key exceeded (see Retry-After)", "model": ErrorBody},
}
