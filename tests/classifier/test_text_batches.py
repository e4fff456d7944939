"""Batch forms used by free-text scanning and masking give what their one-at-a-time definitions give."""

from __future__ import annotations

from typing import Any

import pytest

from classifier.flatten import Expander, Limits, flat_columns, flatten_record
from classifier.text import Span, TextScanner, normalize, normalize_many

TEXTS = ["市民张三来电反映北京市朝阳区建国路88号小区噪音，联系电话：13812345678",
         "地址：北京市朝阳区建国路88号，家住北京市朝阳区建国路88号",  # one address found twice
         "身份证号11010519491231002X（ＡＢＣ１２３）\u3000于2024年办理", "ascii only 13812345678", "",
         "户主欧阳娜娜称，联系人李四说于", "银行卡6222021234567890128，身份证号11010519491231002X"]


@pytest.mark.parametrize("texts", [TEXTS, TEXTS[:1], [], ["a\x00b", "，"], ["", ""]])
def test_normalize_many_is_normalize_of_each(texts: list[str]) -> None:
    assert normalize_many(texts) == [normalize(t) for t in texts]


def test_duplicate_spans_resolve_like_overlaps() -> None:
    """Spans found twice keep one copy, of the recognizer listed first (the per-text rule)."""
    scanner = TextScanner()
    texts = normalize_many(TEXTS)
    found = scanner.find_many(texts)
    for text, spans in zip(texts, found):
        assert spans == scanner._resolve([Span(s.entity, s.start, s.end) for s in spans])
        assert len({(s.start, s.end) for s in spans}) == len(spans)
    assert [s.entity for s in found[1]].count("ADDRESS") == 2
    assert found[-1][0].entity == "CN_BANK_CARD"  # Luhn-valid card: not also a resident ID


def test_span_table_rows() -> None:
    table = TextScanner().spans_in(__import__("pyarrow").array(normalize_many(TEXTS)))
    rows = table.by_row()
    assert sorted(rows) == sorted(set(table.row.tolist()))
    assert sum(map(len, rows.values())) == table.row.size
    for r, spans in rows.items():
        assert [s.start for s in spans] == sorted(s.start for s in spans)


RECORDS: list[dict[str, Any]] = [{"a": "x", "b": 1, "c": None}, {"b": True, "d": 2.5}, {"a": "身份证号", "e": ""}]


def test_flat_columns_is_flatten_record_of_each() -> None:
    expander = Expander(Limits())
    flat = [flatten_record(r, expander) for r in RECORDS]
    want = {n: [v for f in flat for v in f.get(n, [None])] for n in dict.fromkeys(p for f in flat for p in f)}
    got = flat_columns(RECORDS)
    assert got == want and list(got or {}) == list(want)


@pytest.mark.parametrize("value", [{"x": 1}, [1], '{"tel": "13812345678"}', " [1, 2]", '{"cut'])
def test_flat_columns_leaves_nesting_to_the_expander(value: Any) -> None:
    assert flat_columns([*RECORDS, {"a": value}]) is None


@pytest.mark.parametrize("share", [0, 1, 3])  # no, one, or every text holds a rare kind's cue
def test_rare_context_kinds_share_a_pass(share: int) -> None:
    """Cue kinds that share one prefilter pass find what a pass of their own finds."""
    import pyarrow as pa

    from classifier.textcues import ContextFinder

    rare = ["出生日期1990年1月1日，患高血压", "家住上海市浦东新区世纪大道100号", "生于1985-03-02 糖尿病"]
    texts = pa.array(normalize_many(rare[:share] + (TEXTS if share < 3 else []) + ["市民王五反映路灯坏了"]))
    fast, slow = ContextFinder(), ContextFinder()
    slow._rare = "."  # every text passes the shared prefilter: each kind's own pass decides
    got, want = fast.find_many(texts), slow.find_many(texts)
    assert got == want
    kinds = {e for spans in got.values() for e, *_ in spans}
    assert share < 3 or {"DATE_OF_BIRTH", "MEDICAL_DIAGNOSIS", "ADDRESS"} <= kinds
