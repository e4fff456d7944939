"""The engine's one check per call for values that need the per-path engine."""

from __future__ import annotations

from typing import Any

import pytest

from crypto.paths import any_nesting


@pytest.mark.parametrize("value", [{"x": 1}, [1], '{"tel": "13812345678"}', " [1, 2]", '{"cut', "bin\x00ary", "\ufffd"])
def test_nested_json_or_binary_values_are_found(value: Any) -> None:
    assert any_nesting(["text", 1, None, value])
    assert any_nesting([value, "text"])


def test_flat_values_are_not() -> None:
    assert not any_nesting(["市民张三", 1, None, "", "{not json", "a\nb\tc", 2.5, True])
    assert not any_nesting([])
