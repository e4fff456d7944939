"""Event time for correlation windows (event time, never the wall clock)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

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
                dt = datetime.fromisoformat(value.strip())
            except ValueError:
                return None
            if dt.tzinfo is None:
                dt = dt.replace(tzinfo=timezone.utc)
            return dt.timestamp(), value
        return None
    return None
