"""The token path of the text scan finds exactly what the per-text regex search finds."""

from __future__ import annotations

import random

from classifier.text import TextScanner, normalize

GLUED_AND_ALONE = [
    "电话 138 1234 5678", "+86 13812345678", "(+86)13812345678", "(010)62345678", "010-62345678-123",
    "010-62345678ext.123", "0086-10-62345678", "13812345678,13912345678", "13812345678 13912345678",
    "身份证 110105-19491231-002X", "11010519491231002x号", "卡号6222 0212 3456 7890 128", "金额1000.00元",
    "a13812345678", "13812345678a", "_13812345678_", "138123456789", "订单号13812345678", "工单号 13812345678",
    "护照E12345678和C12345678", "H1234567890", "91110000600037341L", "9111 0000 6000 3734 1L",
    "联系电话13812345678，身份证号11010519491231002X。", "(86)13812345678", "008613812345678",
    # long rows: character offsets counted over hundreds of multi-byte characters
    "京" * 300 + "13812345678" + "é" * 400 + " 13912345678", "13812345678" + "市" * 999 + "11010519491231002X",
]


def test_token_path_matches_per_text_search() -> None:
    rng = random.Random(7)
    texts = list(GLUED_AND_ALONE)
    alphabet = "0123456789 -+().,:x@aEGC京联系电话身份证号卡"
    texts += ["".join(rng.choice(alphabet) for _ in range(rng.randint(5, 40))) for _ in range(3000)]
    texts = [normalize(t) for t in texts]
    fast = TextScanner()
    slow = TextScanner()
    slow._token_min = 0  # every recognizer searched per text
    assert fast._token_min > 0
    assert fast.find_many(texts) == slow.find_many(texts)
    assert any(fast.find_many(texts[-3000:]))  # the random texts do hold spans
