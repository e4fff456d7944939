"""Event time for correlation windows (event time, never the wall clock)."""

from __future__ import annotations

from typing import Any

from classifier.dates import parse_when

TIME_FIELDS = ("ts", "@timestamp", "timestamp")


def event_time(event: dict[str, Any]) -> tuple[float, str] | None:
    """(UTC epoch seconds, the value as sent) of the first time field present, or None.

    RFC 3339 strings and epoch numbers are accepted; a time without offset is read as UTC.
    """
    for name in TIME_FIELDS:
        value = event.get(name)
        if value is None:
            continue
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value), str(value)
        if isinstance(value, str):
            try:
                return parse_when(value).timestamp(), value
            except ValueError:
                return None
        return None
    return None
