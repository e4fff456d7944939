"""The one-pass decode + check of ingest (soc.validate.decoded_valid) agrees with the full path
(jsonl.loads then validate_event): it vouches only for events the full path accepts, with the
same decoded event and ts, and leaves everything else — to be worded there — to that path."""

from __future__ import annotations

import orjson
import pytest

from classifier import jsonl
from soc.validate import EventError, decoded_valid, validate_event

BASE = {"ts": "2026-03-02T09:00:00.000+08:00", "event_id": "e-1", "source": "gw", "user": "u1",
        "action": "query", "result": "success", "dataset": "人口库", "fields": ["id", "name"],
        "rows": 12, "bytes": 2**63 - 1}


def full(line: bytes) -> tuple[object, float] | EventError:
    try:
        obj = jsonl.loads(line)
        return obj, validate_event(obj)
    except (jsonl.JsonlError, EventError) as exc:
        return exc if isinstance(exc, EventError) else EventError(None, exc.reason)


def test_plain_event_is_vouched_for_with_the_full_paths_result() -> None:
    line = orjson.dumps(BASE) + b"\n"
    got = decoded_valid(line)
    assert got is not None
    assert got == full(line)
    assert list(got[0]) == list(BASE)  # key order kept: the stored text, so the chain, is the same


@pytest.mark.parametrize("change", [
    {"rows": 2**63},                    # past int64: refused by the full path
    {"bytes": 10**20},                  # orjson would read a float: the exact reader decides
    {"rows": 1.0}, {"rows": True}, {"user": ""}, {"action": "downlaod"}, {"fields": ["a", 1]},
    {"ts": "yesterday"}, {"ts": "2026-02-30T00:00:00Z"},
    {"extra": {"n": 123456789012345678901234}},  # extra: any nesting and numbers, full path
    {"sensitive_fields": [[[[1]]]]},    # a field outside the contract's own: full path
    {"newer_field": 1.5},
])
def test_anything_unusual_is_left_to_the_full_path(change: dict[str, object]) -> None:
    line = jsonl.dumps({**BASE, **change})
    assert decoded_valid(line) is None


@pytest.mark.parametrize("line", [b"", b"  \n", b"[1]", b"{", b'{"ts": "\\ud800"}', b"\xff\xfe",
                                  b'"text"'])
def test_bad_lines_are_left_to_the_full_path(line: bytes) -> None:
    assert decoded_valid(line) is None


@pytest.mark.parametrize("stamp", [
    "2026-03-02T09:00:00.000+08:00", "2026-03-02T09:00:59.999+08:00", "2026-03-02t09:00:07.042-05:30",
    "0001-01-02T00:00:00.000+00:00", "9999-12-30T23:59:59.999+00:00", "1969-12-31T23:59:59.999+00:00",
])
def test_a_stamp_of_a_seen_minute_gives_the_datetime_float(stamp: str) -> None:
    """parse_ts' minute table (stamps of the emitters' ``…:SS.fff±HH:MM`` shape) gives the float
    fromisoformat gives, once the minute is known from another stamp of it."""
    from datetime import datetime

    from soc import validate

    other = stamp[:17] + ("31.500" if stamp[17:23] != "31.500" else "02.001") + stamp[23:]
    validate._TS_CACHE.clear()
    validate.parse_ts(other)  # the minute, learnt from another stamp
    validate._TS_CACHE.clear()
    assert validate.parse_ts(stamp) == datetime.fromisoformat(stamp).timestamp()


@pytest.mark.parametrize("stamp", ["2026-03-02T09:00:60.000+08:00", "2026-03-02T09:00:٣5.000+08:00",
                                   "2026-03-02T09:00:+5.000+08:00", "2026-03-02T09:00: 5.000+08:00",
                                   "0001-01-01T23:59:59.999+00:00"])
def test_a_bad_stamp_of_a_seen_minute_is_still_refused(stamp: str) -> None:
    from soc import validate

    validate._TS_CACHE.clear()
    try:
        validate.parse_ts(stamp[:17] + "00.000" + stamp[23:])
    except EventError:
        pass  # the minute itself is out of range
    validate._TS_CACHE.clear()
    with pytest.raises(EventError) as exc:
        validate.parse_ts(stamp)
    assert exc.value.field == "ts"
