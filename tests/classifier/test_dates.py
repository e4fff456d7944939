"""The one date/time parser: data dates, the contract's RFC 3339 ts, and typed-in times."""

from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from classifier.dates import parse_date, parse_rfc3339, parse_when


@pytest.mark.parametrize("text,expected", [
    ("19900102", date(1990, 1, 2)), ("1990-01-02", date(1990, 1, 2)), ("1990/1/2", date(1990, 1, 2)),
    ("1990.1.2", date(1990, 1, 2)), ("1990年1月2日", date(1990, 1, 2)), ("1990年01月02", date(1990, 1, 2)),
    ("1990-01-02 00:00:00", date(1990, 1, 2)), ("1990-01-02T00:00", date(1990, 1, 2)),
    ("19900230", None), ("1990-13-01", None), ("1990-01-02 13:45", None), ("1990-01", None),
    ("not a date", None), ("", None), ("1990-01-02x", None),
])
def test_parse_date(text: str, expected: date | None) -> None:
    assert parse_date(text) == expected


def test_any_time_accepts_a_clock() -> None:
    assert parse_date("1987-06-15 13:45:00", any_time=True) == date(1987, 6, 15)
    assert parse_date("1987-06-15T13:45:00+08:00", any_time=True) == date(1987, 6, 15)


def test_rfc3339() -> None:
    assert parse_rfc3339("2026-03-01T09:15:02+08:00") == datetime(2026, 3, 1, 1, 15, 2, tzinfo=timezone.utc)
    assert parse_rfc3339("2026-03-01T01:15:02Z").hour == 1
    for bad in ("2026-03-01T09:15:02", "20260301T091502Z", "2026-03-01", "2026-02-30T00:00:00Z"):
        with pytest.raises(ValueError):
            parse_rfc3339(bad)
    for edge in ("9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+14:00"):
        with pytest.raises(ValueError, match="outside the years"):
            parse_rfc3339(edge)


def test_parse_when_reads_naive_times_in_the_zone() -> None:
    sh = ZoneInfo("Asia/Shanghai")
    assert parse_when("2026-01-01", sh) == datetime(2026, 1, 1, tzinfo=sh)
    assert parse_when("2026-01-01T08:00:00", sh).astimezone(timezone.utc).hour == 0
    assert parse_when("2026-01-01T08:00:00Z", sh).hour == 8
    with pytest.raises(ValueError):
        parse_when("tomorrow", sh)
