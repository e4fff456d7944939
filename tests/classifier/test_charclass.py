"""The character-class prefilter never rules out a value its pattern matches (so counts stay exact)."""

from __future__ import annotations

import random

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from pathlib import Path

from classifier.charclass import ALL, Shape, pattern_shape, value_classes, value_digits
from classifier.columns import ColumnScanner, ColumnTally
from classifier.scan import scan_sources
from classifier.settings import Settings
from classifier.identifiers.text import EXCEL_SCIENTIFIC
from classifier.recognizers import all_recognizers
from classifier.recognizers.location import GeoCoordinateRecognizer

RECOGNIZERS = all_recognizers()
PATTERNS = sorted({p for r in RECOGNIZERS for p in (r.fullmatch_pattern, r.column_pattern)}
                  | {GeoCoordinateRecognizer.SINGLE, EXCEL_SCIENTIFIC})


def fits(pattern: str, value: str) -> bool:
    return bool(pattern_shape(pattern).fits(value_classes(pa.array([value], type=pa.string())))[0])


def holds(pattern: str, text: str) -> bool:
    arr = pa.array([text], type=pa.string())
    return bool(pattern_shape(pattern).holds(value_classes(arr), value_digits(arr))[0])


@pytest.mark.parametrize("pattern", PATTERNS, ids=lambda p: p[:30])
@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_every_match_fits(pattern: str, data: st.DataObject) -> None:
    value = data.draw(st.from_regex(pattern, fullmatch=True))
    assert fits(pattern, value), value
    around = data.draw(st.text(max_size=8)) + value + data.draw(st.text(max_size=8))
    assert holds(pattern, around), around  # a text holding a match


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


TEXTS = ["浙江省杭州市西湖区文三路123号", "张三", "北京市朝阳区建国路88号 电话13812345678", "120.123456",
         "12345.67", "1990-01-01", "E12345678", "zhang@example.com", "来电人李四反映楼道漏水",
         "身份证号11010519491231002X 于2024年办理", "192.168.1.1", "地址：上海市浦东新区世纪大道100号",
         "联系电话010-62345678", "京A12345", "116.3975,39.9087", "卡号6222021234567890128", "订单号13812345678"]


@pytest.mark.parametrize("remember", [False, True])
def test_text_scan_skip_finds_the_same(remember: bool) -> None:
    """Values the engine leaves out of the text scan hold no span: same embedded tallies."""
    rng = random.Random(5)
    alphabet = "0123456789 -+().,:@xE京市区路号张李王来电人地址电话身份证"
    values = TEXTS + ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 40))) for _ in range(4000)]
    fast, slow = ColumnScanner(RECOGNIZERS, {}), ColumnScanner(RECOGNIZERS, {})
    slow._may_hold_spans = lambda values, *a: np.ones(len(values), dtype=bool)  # type: ignore[method-assign]
    a, b = ColumnTally(), ColumnTally()
    fast.update(a, pa.array(values), remember=remember)
    slow.update(b, pa.array(values), remember=remember)
    assert a == b
    assert {"CN_RESIDENT_ID", "CN_MOBILE", "PERSON_NAME", "ADDRESS"} <= set(a.embedded)


def test_one_id_in_a_numeric_column_still_grades_it(tmp_path: Path, settings: Settings) -> None:
    """A column of amounts, dates and addresses (left out of the text scan) with one remark quoting
    an ID number is graded by that ID, as without the skip."""
    rows = [f"{i * 7.31:.2f},2024-01-{i % 28 + 1:02d},浙江省杭州市西湖区文三路{i}号" for i in range(3000)]
    rows[1234] = "身份证号11010519491231002X 于2024年办理,2024-01-01,浙江省杭州市西湖区文三路1号"
    rows[2345] = "12.50,2024-01-01,浙江省杭州市西湖区文三路1号 联系人张三 电话13812345678"
    path = tmp_path / "amounts.csv"
    path.write_text("金额,日期,地址\n" + "\n".join(rows) + "\n", encoding="utf-8")
    cols = {c["name"]: c for c in scan_sources([str(path)], settings, full=True)[0]["columns"]}
    amount = cols["金额"]
    assert amount["grade"] == "L4"
    assert {"entity": "CN_RESIDENT_ID", "values": 1, "share": round(1 / 3000, 4)} in amount["embedded"]
    assert "embedded CN_RESIDENT_ID in 1 of 3000 values" in amount["reasons"]
    address = cols["地址"]
    assert address["entity"] == "ADDRESS"
    assert any(e["entity"] == "CN_MOBILE" and e["values"] == 1 for e in address["embedded"])


def test_text_scan_pattern_skip_finds_the_same() -> None:
    """Texts that lack what a pattern's span holds skip that pattern's pass: same spans."""
    from classifier.text import TextScanner, normalize

    rng = random.Random(11)
    alphabet = "0123456789 -+().,:@/xXEabcfF京A市区路号张李来电人地址电话身份证邮箱"
    texts = TEXTS + ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 40))) for _ in range(4000)]
    texts += ["邮箱zhang@example.com", "IP 192.168.1.1 登录", "网卡00:1a:2b:3c:4d:5e", "位置116.3975,39.9087",
              "车牌京A12345违停", "fe80::1", "通行证C12345678"]
    texts = [normalize(t) for t in texts]
    fast, slow = TextScanner(), TextScanner()
    slow._holds = [Shape(ALL, ())] * len(slow._holds)
    assert fast.find_many(texts) == slow.find_many(texts)
    found = {s.entity for spans in fast.find_many(texts) for s in spans}
    assert {"EMAIL_ADDRESS", "IP_ADDRESS", "MAC_ADDRESS", "GEO_COORDINATE", "CN_LICENSE_PLATE"} <= found
