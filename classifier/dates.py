"""Dates and times as Shuwei reads them — one definition per kind, shared by every package.

- :func:`parse_date`: a calendar date written in a data value (出生日期, 登记日期): ``19900102``,
  ``1990-01-02``, ``1990/1/2``, ``1990.1.2``, ``1990年1月2日``, optionally with a time part.
- :func:`parse_rfc3339`: the contract's ``ts`` — an RFC 3339 date-time with a mandatory offset.
- :func:`parse_when`: a time a person types (CLI options, API filters) or a third-party event
  carries: a date alone is midnight, and a time without offset is in the given zone.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timezone, tzinfo

_DATE = re.compile(
    r"(?P<y>\d{4})(?:(?P<m1>\d{2})(?P<d1>\d{2})"
    r"|[-/.](?P<m2>\d{1,2})[-/.](?P<d2>\d{1,2})"
    r"|年(?P<m3>\d{1,2})月(?P<d3>\d{1,2})日?)"
    r"(?:[ T](?P<time>\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:[Zz]|[+-]\d{2}:?\d{2})?))?"
)
_MIDNIGHT = re.compile(r"00:00(?::00(?:\.0+)?)?")

# datetime.fromisoformat alone also accepts forms RFC 3339 forbids (basic format, no offset, week
# dates), hence this shape check first.
RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})\Z")


def parse_date(text: str, *, any_time: bool = False) -> date | None:
    """The calendar date a value spells, or None.

    A time part is accepted only at midnight (how databases export a date column) unless
    ``any_time``: generalizing ``1987-06-15 13:45`` to ``1987`` is right, calling it a birth date
    is not.
    """
    m = _DATE.fullmatch(text)
    if m is None:
        return None
    clock = m["time"]
    if clock is not None and not any_time and not _MIDNIGHT.match(clock):
        return None
    month, day = next((m[f"m{i}"], m[f"d{i}"]) for i in (1, 2, 3) if m[f"m{i}"] is not None)
    try:
        return date(int(m["y"]), int(month), int(day))
    except ValueError:
        return None


def _utc(value: datetime, text: str) -> datetime:
    """The instant in UTC; an instant outside years 1..9999 once in UTC is not a usable time."""
    try:
        return value.astimezone(timezone.utc)
    except (OverflowError, ValueError):
        raise ValueError(f"{text[:40]!r} is outside the years 0001–9999 in UTC") from None


def parse_rfc3339(text: str) -> datetime:
    """The UTC instant of an RFC 3339 date-time with offset; ValueError says why not."""
    if not RFC3339.match(text):
        raise ValueError(f"not an RFC 3339 date-time with offset: {text[:40]!r}")
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"invalid date-time {text[:40]!r}: {exc}") from None
    return _utc(value, text)


def parse_when(text: str, tz: tzinfo = timezone.utc) -> datetime:
    """A date (midnight) or ISO 8601 date-time; without an offset it is read in ``tz``."""
    text = text.strip()
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time(0), tz)
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"not a date (YYYY-MM-DD) or ISO 8601 date-time: {text[:40]!r}") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=tz)
    _utc(value, text)
    return value
