"""`shuwei serve`."""

from __future__ import annotations

from soc.cli.common import fail


def serve() -> None:
    fail("the HTTP service is not built yet")
