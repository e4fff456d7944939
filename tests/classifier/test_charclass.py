"""The character-class prefilter never rules out a value its pattern matches (so counts stay exact)."""

from __future__ import annotations

import random

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from classifier.charclass import ALL, Shape, pattern_shape, value_classes
from classifier.columns import ColumnScanner, ColumnTally
from classifier.identifiers.text import EXCEL_SCIENTIFIC
from classifier.recognizers import all_recognizers
from classifier.recognizers.location import GeoCoordinateRecognizer

RECOGNIZERS = all_recognizers()
PATTERNS = sorted({p for r in RECOGNIZERS for p in (r.fullmatch_pattern, r.column_pattern)}
                  | {GeoCoordinateRecognizer.SINGLE, EXCEL_SCIENTIFIC})


def fits(pattern: str, value: str) -> bool:
    return bool(pattern_shape(pattern).fits(value_classes(pa.array([value], type=pa.string())))[0])


@pytest.mark.parametrize("pattern", PATTERNS, ids=lambda p: p[:30])
@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_every_match_fits(pattern: str, data: st.DataObject) -> None:
    value = data.draw(st.from_regex(pattern, fullmatch=True))
    assert fits(pattern, value), value


def test_rules_out_what_cannot_match() -> None:
    by_entity = {r.ENTITY: r.fullmatch_pattern for r in RECOGNIZERS}
    assert not fits(by_entity["ADDRESS"], "13812345678")         # needs a Chinese character
    assert not fits(by_entity["EMAIL_ADDRESS"], "abc.example.com")  # needs @
    assert not fits(by_entity["PERSON_NAME"], "Zhang")           # a Latin name has a space
    assert fits(by_entity["PERSON_NAME"], "Zhang San")
    assert not fits(by_entity["IP_ADDRESS"], "1234")             # needs . or :
    assert fits(by_entity["CN_RESIDENT_ID"], "11010519491231002X")


def test_value_classes_edge_cases() -> None:
    arr = pa.array(["", None, "a1", "京A", "@", ""], type=pa.string())
    got = value_classes(arr).tolist()
    assert got[0] == got[1] == got[5] == 0
    assert got[2] == value_classes(pa.array(["1a"])).tolist()[0]
    sliced = value_classes(arr.slice(2, 3)).tolist()
    assert sliced == got[2:5]
    assert value_classes(pa.array([], type=pa.string())).size == 0


def test_column_tallies_same_as_without_prefilter() -> None:
    rng = random.Random(3)
    alphabet = "0123456789 -+().,:@/_#xXEabcZ京市区路号公司张王·（）"
    values = ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 30))) for _ in range(4000)]
    values += ["11010519491231002X", "13812345678", "6222021234567890128", "zhang@example.com",
               "192.168.1.1", "fe80::1", "00:1a:2b:3c:4d:5e", "120.123456", "30.123456", "2.10725E+17",
               "北京市朝阳区建国路88号", "张三", "Zhang San", "1990-01-01", "数卫科技有限公司", "高血压",
               "京A12345", "E12345678", "010-62345678", "91110000600037341L", "116.3975,39.9087"]
    fast, slow = ColumnScanner(RECOGNIZERS, {}), ColumnScanner(RECOGNIZERS, {})
    slow._shapes = [Shape(ALL, ())] * len(RECOGNIZERS)
    slow._single_shape = slow._scientific_shape = Shape(ALL, ())
    a, b = ColumnTally(), ColumnTally()
    fast.update(a, pa.array(values))
    slow.update(b, pa.array(values))
    assert a == b
    assert len(a.entities) > 10 and a.lon_hits and a.scientific
