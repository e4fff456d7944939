"""The address recognizer's fast fullmatch decides exactly like its CORE pattern."""

from __future__ import annotations

import random

import pyarrow as pa

from classifier.recognizers.base import ShuweiRecognizer
from classifier.recognizers.location import AddressRecognizer


def test_fast_fullmatch_equals_core() -> None:
    rng = random.Random(11)
    pieces = ["北京市", "朝阳区", "省", "市", "区", "县", "自治州", "路", "街", "大道", "号", "小区", "单元", "室",
              "幸福", "里", "1", "23", "A", "#", "-", " ", ",", "（", "）", "。", "，", ":", "公司", "医院", "a" * 20,
              "的" * 19, "建设"]
    values = ["".join(rng.choice(pieces) for _ in range(rng.randint(1, 30))) for _ in range(6000)]
    values += ["北京市朝阳区建国路88号", "市" + "的" * 41 + "路", "的" * 21 + "市路", "市" + "的" * 40 + "路" + "的" * 40,
               "市路" + "的" * 41, "市" + "的" * 39 + "路" + "的" * 41]
    arr = pa.array(values)
    rec = AddressRecognizer()
    fast = rec.fullmatch(arr)
    core = ShuweiRecognizer.fullmatch(rec, arr)
    assert (fast == core).all()
    assert fast.any() and not fast.all()
    assert any(len(v) > 42 and f for v, f in zip(values, fast))
