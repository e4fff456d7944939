"""The profile's quick first-character checks give what the patterns alone give."""

from __future__ import annotations

import random
import re
import sys

from hypothesis import given, settings, strategies as st

from classifier import profile as prof


def test_first_character_classes_are_the_patterns() -> None:
    """``\\d`` is ``str.isdecimal`` and ``\\s`` is ``str.isspace``, over every code point."""
    digit, space = re.compile(r"\d"), re.compile(r"\s")
    for cp in range(sys.maxunicode + 1):
        ch = chr(cp)
        assert (digit.fullmatch(ch) is not None) == ch.isdecimal(), hex(cp)
        assert (space.fullmatch(ch) is not None) == ch.isspace(), hex(cp)


def _kind_slow(value: str) -> str:
    if prof._INT.match(value):
        return "integer"
    if prof._DEC.match(value):
        return "decimal"
    if prof.parse_date(value) is not None:
        return "date"
    return "string"


def _sequential_slow(values: list[object], rows_total: int) -> bool:
    nums = sorted({int(d) for d in (prof._SEPARATORS.sub("", str(v)) for v in values if v is not None)
                   if d.isascii() and d.isdigit()})
    return len(nums) >= 10 and nums[-1] - nums[0] <= 100 * max(rows_total, len(nums))


TEXT = st.text(alphabet="0123456789٣+-. \t\u3000年月日/:Tx京", max_size=14)


@settings(max_examples=500, deadline=None)
@given(TEXT.filter(bool))
def test_kind_same_as_the_patterns(value: str) -> None:
    assert prof._kind(value) == _kind_slow(value)


def test_sequential_same_as_the_substitution() -> None:
    rng = random.Random(2)
    alphabet = "0123456789 -\u3000\u00a0x京٣"
    for _ in range(300):
        values: list[object] = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 6)))
                                for _ in range(rng.randint(8, 30))]
        values += [None, 12, 3.5]
        assert prof.is_sequential(values, 20) == _sequential_slow(values, 20)
    serial = [f"{i:06d}" for i in range(100)] + [f" {i}-1" for i in range(10)]
    assert prof.is_sequential(serial, 100) and _sequential_slow(serial, 100)
