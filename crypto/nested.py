"""Masking records with nested values: one decision per leaf path, the record's shape kept.

Values that cannot be parsed (a string that looks like JSON but is not, binary text) take the
strategy's fallback — never the raw value — unless the field is granted in clear.
"""

from __future__ import annotations

from typing import Any

from classifier.flatten import ARRAY
from crypto.paths import leaf_values, transform
from crypto.strategies import Masker, Unfit, fallback
from crypto.textmask import TextMasker


def top_field(path: str) -> str:
    return path.split(".", 1)[0].removesuffix(ARRAY)


def leaf_paths(records: list[dict[str, Any]]) -> list[str]:
    """Every leaf path of the records, first-seen order."""
    out: dict[str, list[Any]] = {}
    for record in records:
        for key, value in record.items():
            leaf_values(value, str(key), out)
    return list(out)


def run_nested(steps: tuple[tuple[str, Masker, str], ...], texts: tuple[tuple[str, TextMasker], ...],
               granted: tuple[str, ...], records: list[dict[str, Any]], spans: dict[str, dict[str, int]]
               ) -> tuple[list[dict[str, Any]], set[str]]:
    by_path = {name: (masker, mode) for name, masker, mode in steps}
    text_by_path = dict(texts)
    clear = set(granted)
    fell: set[str] = set()
    if text_by_path:
        values: dict[str, list[Any]] = {}
        for record in records:
            for key, value in record.items():
                leaf_values(value, str(key), values)
        for path, text in text_by_path.items():
            text.prepare(values.get(path, ()))

    def leaf(path: str, value: Any) -> Any:
        if value is None:
            return None
        step = by_path.get(path)
        if step is not None:
            try:
                return step[0](value)
            except Unfit:
                fell.add(path)
                return fallback(value, step[1])
        text = text_by_path.get(path)
        if text is not None and isinstance(value, str):
            return text.mask(value, spans.setdefault(path, {}))
        return value

    def broken(path: str, value: Any) -> Any:
        if path in clear:
            return value
        fell.add(path)
        mode = by_path[path][1] if path in by_path else "mask"
        return fallback(value, mode)

    out = [{k: transform(v, str(k), leaf, broken) for k, v in record.items()} for record in records]
    return out, fell
