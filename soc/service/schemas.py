"""Shared OpenAPI pieces: the error body, the documented error statuses, strict request models.

Clients are generated from ``/openapi.json``, so every status a route can answer is listed here and
request models validate exactly what their schema says (strict types: ``0`` is not a boolean).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict


class ErrorDetail(BaseModel):
    code: str
    message: str
    field: str | None
    request_id: str | None


class ErrorBody(BaseModel):
    error: ErrorDetail


class StrictModel(BaseModel):
    """A request body: JSON types as declared (no ``"1"`` → 1 or ``0`` → false coercion)."""

    model_config = ConfigDict(strict=True)


def integral(value: Any) -> Any:
    """JSON Schema's ``integer`` includes ``2.0``; strict pydantic would refuse it, lax would take
    ``"2"`` and ``true`` as well."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


JsonInt = Annotated[int, BeforeValidator(integral)]


def _present(value: Any) -> Any:
    if value is None:
        raise ValueError("omit the field rather than send null")
    return value


# For an optional field whose schema has no null: ``Annotated[T | SkipJsonSchema[None], Omittable]``.
Omittable = BeforeValidator(_present)


_DESCRIPTIONS = {
    400: "malformed body or parameter (wrong type, missing field, outside a declared bound)",
    401: "no or bad credentials",
    403: "the key's role or datasets do not allow this",
    404: "the named resource does not exist",
    409: "the change conflicts with the resource's state",
    413: "body or batch over the configured limit",
    415: "the body is not JSON: send Content-Type: application/json",
    422: "well-formed, but a value cannot be processed",
    429: "rate limit of the key exceeded (see Retry-After)",
    503: "a backend is unavailable (e.g. no master key for the keyring)",
}
AUTH = (400, 401, 403, 429)  # every authenticated route: bad parameters, credentials, role, rate
BODY = (413, 415)  # every route that reads a JSON body


def errors(*codes: int, **notes: str) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route: the authenticated statuses plus ``codes``; ``notes`` (keyed
    ``e404``, ``e422`` …) replace the generic description with the route's own meaning."""
    out: dict[int | str, dict[str, Any]] = {}
    for code in sorted({*AUTH, *codes}):
        out[code] = {"description": notes.get(f"e{code}", _DESCRIPTIONS[code]), "model": ErrorBody}
    return out


ERRORS = errors()
