"""Hypothesis strategies over audit-event contract v1 with extreme values, each event's verdict
known by construction (the accepted ranges of soc/validate.py: counts 0..2^63-1, times whose UTC
instant lies in 0001-01-02..9999-12-30, nesting up to 64 levels per line)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from hypothesis import strategies as st

INT64_MAX = 2**63 - 1
_VALID_INSTANTS = st.datetimes(min_value=datetime(1, 1, 2, 0, 0), max_value=datetime(9999, 12, 30, 23, 59))
_OFFSETS = st.integers(min_value=-(23 * 60 + 59), max_value=23 * 60 + 59)


@dataclass(frozen=True)
class Case:
    line: bytes                 # the event as one JSON text (raw: may hold 5,000-digit numbers)
    field: str | None           # None: valid; else the field the rejection must name
    secret: str                 # a raw value that must never be echoed in a rejection


@st.composite
def _ts(draw: st.DrawFn) -> tuple[str, bool]:
    """An RFC 3339 string and whether the contract accepts it."""
    utc = draw(_VALID_INSTANTS)
    minutes = draw(_OFFSETS)
    tz = timezone(timedelta(minutes=minutes))
    valid = draw(st.booleans())
    if valid:
        local = utc.replace(tzinfo=timezone.utc).astimezone(tz)
        return local.isoformat(), True
    return draw(st.sampled_from([
        "9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+14:00", "6228480402564890018",
        "2026-02-30T10:00:00+08:00", "2026-03-02T10:00:00", "9999-12-31T23:59:59Z",
        "0001-01-01T00:00:00Z", "2026-13-01T00:00:00+08:00"])), False


_BAD_COUNTS = st.sampled_from(["-1", str(2**63), str(2**64), "9" * 25, "9" * 5000, "1.5", '"12"', "true"])


@st.composite
def cases(draw: st.DrawFn) -> Case:
    ts, ts_ok = draw(_ts())
    event = {"ts": ts, "event_id": f"x-{uuid.uuid4().hex}", "source": "exchange-gateway",
             "user": draw(st.text(min_size=1, max_size=8).filter(lambda t: t.encode("utf-8", "ignore") == t.encode("utf-8", "surrogatepass"))),
             "action": "download", "result": "success"}
    raw: dict[str, str] = {}
    field: str | None = None if ts_ok else "ts"
    secret = ts
    for name in ("rows", "bytes"):
        if draw(st.booleans()):
            if draw(st.booleans()):
                event[name] = draw(st.integers(min_value=0, max_value=INT64_MAX))
            else:
                raw[name] = draw(_BAD_COUNTS)
    depth = draw(st.sampled_from([0, 1, 5, 63, 64, 200, 10_000]))
    if depth:
        event["extra"] = "@EXTRA@"
    text = json.dumps(event, ensure_ascii=False)
    if depth:
        nested = "[" * (depth - 1) + "]" * (depth - 1)
        text = text.replace('"@EXTRA@"', '{"k":' + nested + '}' if depth > 1 else "{}")
    for name, digits in raw.items():
        text = text[:-1] + f', "{name}": {digits}' + "}"
    huge = [name for name, digits in raw.items() if len(digits) > 4300]
    if depth + 1 > 64:  # the line cannot be read; the rejection still names the culprit
        field = "extra"
    elif huge:
        field = huge[0]
    elif raw:  # pydantic judges counts before the timestamp is parsed
        field = next(iter(raw))
        secret = raw[field]
    return Case(text.encode("utf-8"), field, secret)
