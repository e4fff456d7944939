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
    """Every non-container value inside an event (keyword search looks at these); walked with
    an explicit stack, so a deeply nested event cannot exhaust the Python stack."""
    stack = [value]
    while stack:
        node = stack.pop()
        if type(node) is dict:
            for item in node.values():
                if type(item) is dict or type(item) is list:
                    stack.append(item)
                else:
                    yield item
        elif type(node) is list:
            for item in node:
                if type(item) is dict or type(item) is list:
                    stack.append(item)
                else:
                    yield item
        else:
            yield node


def json_path(name: str) -> str:
    """SQLite JSON path of a dotted field name, every key quoted."""
    return "$" + "".join('."' + part.replace('"', '""') + '"' for part in name.split("."))
