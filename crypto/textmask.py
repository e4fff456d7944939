"""Free text masked in place: each sensitive span replaced by its entity's masked form
(``联系电话138****5678``), the rest of the text kept.

Spans come from the classifier's :class:`~classifier.text.TextScanner` (the same recognizers and
validators as classification), searched in bulk over a call's values. Each entity's form is the
policy's decision for that entity in this field for this caller — a case officer granted mobiles
in clear keeps them inside text too. The splice is hand-written: presidio-anonymizer's
``AnonymizerEngine.anonymize`` does the same per text with custom operators but measured ~40×
slower per text here (bench/crypto prints both); its operator model (entity → operator) is kept.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from classifier.text import Span, TextScanner, normalize_many
from crypto.strategies import Masker, Unfit

_CACHE_MAX = 100_000


class TextMasker:
    """One text field for one caller: entity → masker (``None``: the span stays in clear)."""

    def __init__(self, scanner: TextScanner, maskers: dict[str, Masker | None],
                 repeatable: Iterable[str] = ()) -> None:
        """``repeatable``: entities whose strategy gives a span the same form every time: their
        forms are remembered per span (names recur across texts: 27,487 name spans of the bench's
        50,000 texts are 11,349 names; a masking call spent ~40% of its splice time in strategies)."""
        self.scanner = scanner
        self.maskers = maskers
        self._spans: dict[str, list[Span]] = {}
        self._forms: dict[str, dict[str, str]] = {e: {} for e in repeatable if maskers.get(e) is not None}

    def prepare(self, values: Iterable[Any]) -> None:
        """Find the spans of many values at once (one vectorised prefilter for the batch)."""
        todo = list(dict.fromkeys(v for v in values if isinstance(v, str) and v and v not in self._spans))
        if not todo:
            return
        if len(self._spans) + len(todo) > _CACHE_MAX:
            self._spans.clear()
        normal = normalize_many(todo)
        known = self.scanner.find_shared(normal)  # shared lists: mask only reads them
        self._spans.update(zip(todo, map(known.__getitem__, normal)))

    def mask(self, value: Any, counts: dict[str, int]) -> Any:
        """The text with its sensitive spans masked; ``counts`` gains entity → spans masked."""
        if not isinstance(value, str) or not value:
            return value
        spans = self._spans.get(value)
        if spans is None:
            spans = self.scanner.find(value)
        if not spans:
            return value
        out: list[str] = []
        pos = 0
        maskers, forms = self.maskers, self._forms
        for entity, start, end in spans:  # unpacked: NamedTuple attributes cost a call each
            masker = maskers.get(entity, _full)
            if masker is None:
                continue
            out.append(value[pos:start])
            span = value[start:end]
            known = forms.get(entity)
            if known is None:
                out.append(_apply(masker, span))
            else:
                form = known.get(span)
                if form is None:
                    if len(known) >= _CACHE_MAX:
                        known.clear()
                    form = known[span] = _apply(masker, span)
                out.append(form)
            pos = end
            counts[entity] = counts.get(entity, 0) + 1
        out.append(value[pos:])
        return "".join(out)


def _full(span: str) -> str:
    return "*" * len(span)


def _apply(masker: Callable[[Any], Any], span: str) -> str:
    """A strategy's form of one span; a strategy that gives no text (redact) or does not fit the
    span stars it out: text never carries the raw span."""
    try:
        masked = masker(span)
    except Unfit:
        return _full(span)
    return masked if isinstance(masked, str) and masked != span else _full(span)
