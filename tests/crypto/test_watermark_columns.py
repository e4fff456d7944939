"""The column-at-once pseudonym tagger (numpy over the column's bytes) against the value-by-value
definition it stands in for: same tags on every column it accepts, and a refusal (None, so the
caller tags value by value) on every column it cannot take whole. And the recipient's memo of
marked texts against the numpy path that fills it."""

from __future__ import annotations

import os

import pytest
from hypothesis import example, given, settings, strategies as st

from crypto.share.watermark import (_RECALL, TAG_HEX, Marker, Prf, Tagger, Utility, ValueRule, _Recall, _tag_column,
                                    embed_form, read, step_places, tag_block)

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



@given(hex_column(), hex_column(), st.booleans())
@settings(max_examples=100, deadline=None)
def test_columns_tagged_in_one_pass_get_the_value_by_value_tags(a: list[str], b: list[str], gap: bool) -> None:
    records: list[dict[str, object]] = [{"h": x} for x in a] + [{"g": y} for y in b]
    if gap:
        records.append({"h": None, "g": "not a pseudonym"})
    Tagger(PRF, ("h", "g")).apply(records)
    expected = [{"h": one_by_one(x)} for x in a] + [{"g": one_by_one(y)} for y in b]
    assert records == expected + ([{"h": None, "g": "not a pseudonym"}] if gap else [])

# -- the recipient's memo of marked texts (Marker._recall) ------------------------------------------
RULES = [("d", ValueRule(kind="date")), ("amt", ValueRule(step=0.01)), ("geo", ValueRule(step=0.01)),
         ("n", ValueRule(step=1.0))]
DAYS = st.sampled_from(["2024-01-05", "2024-02-29", "2023-12-31", "2024-03-01", "2024-03-02"])
GEO = st.builds(lambda a, b, fmt: fmt.format(a / 100, b / 100), st.integers(11600, 11604), st.integers(4000, 4003),
                st.sampled_from(["{:.2f},{:.2f}", "{:.3f},{:.1f}", " {:.2f} , {:.2f}", "{:.2f}，{:.2f}"]))
ODD = st.sampled_from([None, "2024", 2021, "2024-01-05 00:00", "2024-05", "x", "1,2,3", 3, 2.5, ["x"]])
VALUE = {"d": DAYS, "amt": st.sampled_from(["1.50", "2.5", " 3.25 ", "0.01", "12"]), "geo": GEO,
         "n": st.sampled_from(["3", "4.0", "17"])}


@st.composite
def batches(draw: st.DrawFn) -> list[list[dict[str, object]]]:
    def record() -> dict[str, object]:
        return {name: draw(st.one_of(VALUE[name], ODD) if draw(st.booleans()) and draw(st.booleans())
                           else VALUE[name]) for name, _ in RULES}
    return [[record() for _ in range(draw(st.integers(1, 8)))] for _ in range(draw(st.integers(1, 12)))]


@given(batches())
@example([[{"d": "2024-01-05"}, {"d": "2024-01-05 00:00"}, {"d": "2023"}],  # numpy reads these as days
          [{"d": "2024-01-05"}, {"d": "2023"}]])                              # a column it does not take
@settings(max_examples=150, deadline=None)
def test_columns_marked_from_the_memo_are_marked_as_the_numpy_path_marks_them(calls: list[list[dict[str, object]]]) -> None:
    key = os.urandom(16)
    warm = Marker(Prf(key), RULES)  # one recipient over many calls: its memo fills and answers
    for batch in calls:
        cold = [dict(r) for r in batch]
        u_warm: dict[str, Utility] = {}
        u_cold: dict[str, Utility] = {}
        warm.apply(batch, u_warm)
        Marker(Prf(key), RULES).apply(cold, u_cold)  # a fresh Marker: an empty memo, the numpy path
        assert batch == cold
        assert [(k, u.to_dict()) for k, u in u_warm.items()] == [(k, u.to_dict()) for k, u in u_cold.items()]


# -- numeric text the memo does not hold (Marker._numeric_text) -------------------------------------
NUMERIC = st.one_of(
    st.builds(lambda x, p: f"{x:.{p}f}", st.floats(-1e6, 1e6), st.integers(0, 4)),
    st.sampled_from([" 1.5 ", "1e3", "nan", "inf", "-inf", "1_000.25", "-0.00", "+3.14",
                     "9007199254740993.5", "0x10", "", "abc", "1,2", 7, 2.5, True, None, 1e12, ["x"]]))


# "nan" in a column of numeric text: numpy's path casts it to int64 with this warning (as before)
@pytest.mark.filterwarnings("ignore:invalid value encountered in cast:RuntimeWarning")
@given(st.lists(st.lists(NUMERIC, min_size=1, max_size=30), min_size=1, max_size=6), st.sampled_from([0.01, 0.5, 1.0]))
@settings(max_examples=150, deadline=None)
def test_numeric_text_the_memo_dropped_is_marked_as_the_numpy_path_marks_it(calls: list[list[object]], step: float) -> None:
    key = os.urandom(16)
    rules = [("amt", ValueRule(step=step))]
    dropped = Marker(Prf(key), rules)  # its memo outgrown, as amounts outgrow it: the int path
    for d in range(5):  # one memo per decimals
        dropped.apply([{"amt": f"{i / 10 ** d:.{d}f}"} for i in range(_Recall.FIELD_MAX + 1)], {})
    for p in {max(step_places(step), d) for d in range(5)}:
        assert _RECALL.memos[(dropped.id, "amt", 0, p)] is None
    for column in calls:
        batch = [{"amt": v} for v in column]
        fresh = [dict(r) for r in batch]
        u_dropped: dict[str, Utility] = {}
        u_fresh: dict[str, Utility] = {}
        dropped.apply(batch, u_dropped)
        Marker(Prf(key), rules).apply(fresh, u_fresh)  # an empty memo: numpy marks the column
        assert batch == fresh
        assert {k: u.to_dict() for k, u in u_dropped.items()} == {k: u.to_dict() for k, u in u_fresh.items()}


# -- values no cell can hold: NaN, infinities, numbers beyond the grid ------------------------------
OFF_GRID: list[object] = ["nan", "NaN", "inf", "-inf", "1e300", " 1e300 ", "1e300,2", float("nan"),
                          float("inf"), 1e300, 10 ** 400, 2 ** 62]


@pytest.mark.filterwarnings("error")  # numpy's "invalid value encountered in cast" was the old symptom
@pytest.mark.parametrize("form", ["text", "float", "int", "pair"])
@pytest.mark.parametrize("odd", OFF_GRID)
def test_a_value_off_the_grid_is_kept_and_the_rest_marked_as_without_it(form: str, odd: object) -> None:
    write = {"text": lambda i: f"{i / 4:.2f}", "float": lambda i: i / 4, "int": lambda i: i,
             "pair": lambda i: f"{116 + i / 100:.2f},{40 + i / 100:.2f}"}[form]
    plain: list[object] = [write(i) for i in range(1, 60)]
    key = os.urandom(16)
    rules = [("amt", ValueRule(step=0.01))]
    alone = [{"amt": v} for v in plain]
    Marker(Prf(key), rules).apply(alone, {})
    mixed = [{"amt": v} for v in [*plain[:30], odd, *plain[30:]]]
    Marker(Prf(key), rules).apply(mixed, {})
    assert mixed[30]["amt"] is odd  # kept as it came, not -92233720368547760.00 nor a crash
    assert [r["amt"] for r in mixed[:30] + mixed[31:]] == [r["amt"] for r in alone]
    assert read(rules[0][1], odd) is None and embed_form(rules[0][1], odd, 2) is None  # trace reads no bit there
