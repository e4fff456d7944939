"""Spans remembered from classification are exactly what a fresh search finds."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from classifier.columns import ColumnTally
from classifier.classify import Classifier
from classifier.policy import Policy
from classifier.text import TextScanner, normalize
from classifier.textmemo import SpanMemo

TEXTS = ["市民张三来电反映北京市朝阳区建国路88号小区噪音，联系电话13812345678",
         "北京市朝阳区建国路88号",  # whole address: its context spans do not count for the column
         "张三", "身份证号11010519491231002X 于2024年办理", "订单号13812345678", "无",
         "测试号码13800138000，联系人李四"]  # allow-listed while classifying, masked all the same


def test_remembered_spans_equal_a_fresh_search(policy_dir: Path) -> None:
    clf = Classifier(Policy.load(policy_dir))
    assert clf.scanner.text.allow.get("CN_MOBILE") == {"13800138000"}
    memo = clf.scanner.text.memo = SpanMemo()
    clf.scanner.update(ColumnTally(), pa.array(TEXTS), remember=True)
    texts = [normalize(t) for t in TEXTS]
    known = memo.take(texts)
    assert texts[0] in known and texts[1] in known and texts[-1] not in known
    masking = TextScanner(clf.recognizers)  # masking's scanner: no allow-lists
    masking.memo = memo
    fresh = TextScanner(clf.recognizers)
    fresh.memo = SpanMemo()
    remembered = masking.find_many(texts)
    assert remembered == fresh.find_many(texts)
    assert any(s.entity == "ADDRESS" for s in remembered[1])
    assert any(s.entity == "CN_MOBILE" for s in remembered[-1])


def test_scans_without_remember_keep_nothing(policy_dir: Path) -> None:
    clf = Classifier(Policy.load(policy_dir))
    clf.scanner.text.memo = SpanMemo()
    clf.scanner.update(ColumnTally(), pa.array(TEXTS))
    assert clf.scanner.text.memo.take([normalize(t) for t in TEXTS]) == {}


def test_remembering_changes_no_tally(policy_dir: Path) -> None:
    clf = Classifier(Policy.load(policy_dir))
    clf.scanner.text.memo = SpanMemo()
    plain, remembered = ColumnTally(), ColumnTally()
    clf.scanner.update(plain, pa.array(TEXTS))
    clf.scanner.update(remembered, pa.array(TEXTS), remember=True)
    assert plain == remembered
