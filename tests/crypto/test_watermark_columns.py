"""The column-at-once pseudonym tagger (numpy over the column's bytes) against the value-by-value
definition it stands in for: same tags on every column it accepts, and a refusal (None, so the
caller tags value by value) on every column it cannot take whole."""

from __future__ import annotations

import os

from hypothesis import given, settings, strategies as st

from crypto.share.watermark import TAG_HEX, Prf, Tagger, _tag_column, tag_block

PRF = Prf(os.urandom(16))
HEX = "0123456789abcdef"


def one_by_one(value: str) -> str:
    body = value[:-TAG_HEX]
    return body + PRF.tag_hex(tag_block(body))[0]


@st.composite
def hex_column(draw: st.DrawFn) -> list[str]:
    size = draw(st.sampled_from([34, 40, 48, 62, 64]))
    return draw(st.lists(st.text(HEX, min_size=size, max_size=size), min_size=1, max_size=60))


@given(hex_column())
@settings(max_examples=200, deadline=None)
def test_a_uniform_hex_column_gets_the_value_by_value_tags(column: list[str]) -> None:
    assert _tag_column(PRF, column) == [one_by_one(v) for v in column]


@given(hex_column(), st.sampled_from(["upper", "odd", "short", "other_length", "non_hex", "not_str"]))
@settings(max_examples=200, deadline=None)
def test_a_column_it_cannot_take_whole_is_refused(column: list[str], spoil: str) -> None:
    v = column[0]
    bad: object = {"upper": v.upper() if v.upper() != v else "A" + v[1:], "odd": v[:-1], "short": v[:20],
                   "other_length": v + "ab", "non_hex": "g" + v[1:], "not_str": 12345}[spoil]
    assert _tag_column(PRF, [*column, bad]) is None


@given(hex_column(), st.lists(st.text(HEX, min_size=16, max_size=64), max_size=5))
@settings(max_examples=100, deadline=None)
def test_the_tagger_on_mixed_columns_agrees_with_the_definition(column: list[str], odd: list[str]) -> None:
    values: list[object] = [*column, *odd, None, "not a pseudonym"]
    records = [{"h": v} for v in values]
    Tagger(PRF, ("h",)).apply(records)
    expected = [one_by_one(v) if isinstance(v, str) and all(c in HEX for c in v) and 16 <= len(v) <= 64
                else v for v in values]
    assert [r["h"] for r in records] == expected
