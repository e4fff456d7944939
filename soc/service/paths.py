"""Which scan sources a caller may name: files below ``service.readable_roots``, allow-listed SQL URLs.

The check runs on the fully resolved path (symlinks followed, ``..`` collapsed) and the scanner is
then given that resolved path, so a link that points out of a root — or is swapped after the
check — cannot lead the scanner anywhere else.
"""

from __future__ import annotations

import os
from pathlib import Path

from soc.service.errors import ApiError


def is_sql_url(text: str) -> bool:
    head = text.split(":", 1)[0]
    return "://" in text and head.replace("+", "").isalnum() and len(head) > 1


def resolve_file(text: str, roots: list[Path]) -> Path:
    if not roots:
        raise ApiError(403, "no readable roots are configured (service.readable_roots): file scans are off",
                       code="outside_readable_roots", field="source")
    if "\x00" in text or not text.strip():
        raise ApiError(404, "source must be a non-empty path without NUL", code="not_found", field="source")
    given = Path(text)
    if ".." in given.parts:
        raise ApiError(403, "source may not contain '..'", code="outside_readable_roots", field="source")
    real_roots = [Path(os.path.realpath(r)) for r in roots]
    candidate = given if given.is_absolute() else real_roots[0] / given
    real = Path(os.path.realpath(candidate))
    if not any(real == r or real.is_relative_to(r) for r in real_roots):
        raise ApiError(403, "source is outside the configured readable roots", code="outside_readable_roots",
                       field="source")
    if not real.is_file():
        raise ApiError(404, f"source '{text}' is not a readable file below the readable roots",
                       code="not_found", field="source")
    return real


def check_sql(text: str, allowlist: list[str]) -> str:
    """The URL (before an optional ``#table``) must be listed exactly: no prefix or pattern games."""
    if text.split("#", 1)[0] not in allowlist:
        raise ApiError(403, "SQL source is not on the allow-list (service.sql_allowlist)",
                       code="source_not_allowed", field="source")
    return text
