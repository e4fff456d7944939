"""`shuwei demo`."""

from __future__ import annotations

from soc.cli.common import fail


def demo() -> None:
    fail("the demo is not built yet")
