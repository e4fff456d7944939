"""Field access on arbitrary JSON events: dotted names walk nested objects.

Only objects are walked (``extra.purpose`` is ``event["extra"]["purpose"]``); a list is a value,
and a rule matches it when any element matches. The SQL hunt reads the same paths with
``json_each(doc, '$."extra"."purpose"')``, so both paths agree on what a field is.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

MISSING: Any = object()

Getter = Callable[[dict[str, Any]], Any]


def getter(name: str) -> Getter:
    """A fast accessor for one (possibly dotted) field; returns MISSING when absent."""
    parts = name.split(".")
    if len(parts) == 1:
        def get_top(event: dict[str, Any]) -> Any:
            return event.get(name, MISSING)
        return get_top

    def get_nested(event: dict[str, Any]) -> Any:
        node: Any = event
        for part in parts:
            if not isinstance(node, dict):
                return MISSING
            node = node.get(part, MISSING)
            if node is MISSING:
                return MISSING
        return node
    return get_nested


def scalar_values(value: Any) -> Iterator[Any]:
    """Every non-container value inside an event (keyword search looks at these)."""
    if isinstance(value, dict):
        for item in value.values():
            yield from scalar_values(item)
    elif isinstance(value, list):
        for item in value:
            yield from scalar_values(item)
    else:
        yield value


def json_path(name: str) -> str:
    """SQLite JSON path of a dotted field name, every key quoted."""
    return "$" + "".join('."' + part.replace('"', '""') + '"' for part in name.split("."))
