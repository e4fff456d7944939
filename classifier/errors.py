"""Errors the classifier raises for bad input; the CLI maps :class:`InputError` to exit code 2."""

from __future__ import annotations

from typing import Any


class InputError(ValueError):
    """Bad input (file, line, table or policy); the message names where, never a raw cell value."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")
        self.where = where
        self.message = message


def validation_error(exc: Any, *, drop: tuple[str, ...] = ()) -> tuple[str | None, str]:
    """``(field, message)`` of the first error of a pydantic ``ValidationError`` (or FastAPI's
    ``RequestValidationError``), the one-line form every CLI and API error uses: the field as
    ``records[3].name``, leading location parts in ``drop`` (``body``, ``query``) left out, and
    pydantic's message, which never quotes the input value."""
    errors = exc.errors(include_url=False) if _takes_url(exc) else exc.errors()
    if not errors:
        return None, "invalid input"
    err = errors[0]
    parts = list(err.get("loc", ()))
    while parts and parts[0] in drop:
        parts.pop(0)
    # pydantic names the branch of a union that failed (``constrained-str``, ``literal['a']``): not a
    # field the client sent
    parts = [p for p in parts if not (isinstance(p, str) and ("-" in p or "[" in p))]
    field = ""
    for part in parts:
        field += f"[{part}]" if isinstance(part, int) else ("." if field else "") + str(part)
    msg = "required field is missing" if err.get("type") == "missing" else str(err.get("msg", "invalid"))
    return field or None, msg


def _takes_url(exc: Any) -> bool:
    from pydantic import ValidationError

    return isinstance(exc, ValidationError)
