"""One Presidio recognizer per entity, usable two ways.

Per text, Presidio's :class:`PatternRecognizer` finds ``CORE`` inside free text and calls
:meth:`validate_result` — the same validator the column engine uses. Per column, the engine
fullmatches ``^(?:CORE)$`` over de-duplicated, NFKC-normalised values with Arrow's RE2 kernels and
hands only the matches to :meth:`ShuweiRecognizer.validate_many`. ``CORE`` therefore must be valid
in both Python ``regex`` and RE2: no look-arounds, no back-references, CJK ranges as literal chars.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import regex
from presidio_analyzer import Pattern, PatternRecognizer

from classifier.identifiers.dates import days_in_month, real_dates
from classifier.identifiers.matrix import fixed_width

__all__ = ["HAN", "LANGUAGE", "ShuweiRecognizer", "days_in_month", "fixed_width", "real_dates"]

LANGUAGE = "zh"
HAN = "一-鿿"  # CJK Unified Ideographs, literal so RE2 and Python read the same range


class ShuweiRecognizer(PatternRecognizer):
    """Pattern + validator + context words (Chinese, English, pinyin initials) for one entity."""

    ENTITY: ClassVar[str]
    CORE: ClassVar[str]
    CONTEXT: ClassVar[tuple[str, ...]]
    SCORE: ClassVar[float] = 0.5
    # Cheap prefilter before any regex: normalised length range and whether values are ASCII.
    MIN_LEN: ClassVar[int] = 1
    MAX_LEN: ClassVar[int] = 200
    ASCII_ONLY: ClassVar[bool] = True
    # What the evidence of a hit says: "value pattern+checksum", "value pattern", "dictionary".
    EVIDENCE: ClassVar[str] = "value pattern"
    # A regex (RE2 and Python) that rules a pattern match out; checked vectorised per column.
    REJECT: ClassVar[str | None] = None
    # A regex for forms too plain to count without a column name naming the entity (9 digits).
    WEAK: ClassVar[str | None] = None

    def __init__(self) -> None:
        boundary = "(?<![0-9A-Za-z])(?:{})(?![0-9A-Za-z])".format(self.CORE)
        super().__init__(
            supported_entity=self.ENTITY,
            name=type(self).__name__,
            supported_language=LANGUAGE,
            patterns=[Pattern(self.ENTITY.lower(), boundary, self.SCORE)],
            context=list(self.CONTEXT),
            global_regex_flags=regex.DOTALL | regex.MULTILINE,
        )
        self.column_pattern = "^(?:{})$".format(self.CORE)
        self._reject = regex.compile(self.REJECT) if self.REJECT else None
        self._weak = regex.compile(self.WEAK) if self.WEAK else None

    def validate(self, text: str) -> bool:
        """Check beyond the pattern (checksum, real date, allocated prefix); default: ``REJECT``."""
        return self._reject is None or self._reject.search(text) is None

    def validate_result(self, pattern_text: str) -> bool | None:
        if self._weak is not None and self._weak.search(pattern_text):
            return False  # free text has no column name to vouch for a weak form
        return self.validate(pattern_text)

    def weak_many(self, values: pa.Array) -> np.ndarray:
        """Which values are weak forms (see ``WEAK``)."""
        if self.WEAK is None or len(values) == 0:
            return np.zeros(len(values), dtype=bool)
        weak: np.ndarray = pc.fill_null(pc.match_substring_regex(values, self.WEAK), False) \
            .to_numpy(zero_copy_only=False)
        return weak

    def validate_many(self, values: pa.Array) -> np.ndarray:
        """Vectorised :meth:`validate`: ``REJECT`` through Arrow; a custom scalar check loops."""
        if type(self).validate is not ShuweiRecognizer.validate:
            return np.fromiter((self.validate(v) for v in values.to_pylist()), dtype=bool,
                               count=len(values))
        if self.REJECT is None or len(values) == 0:
            return np.ones(len(values), dtype=bool)
        rejected: np.ndarray = pc.fill_null(pc.match_substring_regex(values, self.REJECT), False) \
            .to_numpy(zero_copy_only=False)
        return ~rejected

    @property
    def fullmatch_pattern(self) -> str:
        """A pattern every value :meth:`fullmatch` accepts matches (the column engine's cheap
        character-class prefilter is read from it, see :mod:`classifier.charclass`)."""
        return self.column_pattern

    def fullmatch(self, values: pa.Array) -> np.ndarray:
        """RE2 fullmatch of the core pattern over an Arrow string array (nulls → False)."""
        if len(values) == 0:
            return np.zeros(0, dtype=bool)
        matched: np.ndarray = pc.fill_null(pc.match_substring_regex(values, self.column_pattern), False) \
            .to_numpy(zero_copy_only=False)
        return matched
