"""Spans a column scan found, kept for the per-text API of an equivalent scanner.

Masking a dataset the catalog does not know classifies its records first (a full column scan)
and then needs the spans of the same texts again to mask them: searching twice cost ~40% of a
masking call. A scan hands its span table here (arrays, no per-span objects: the scan pays
nothing); :meth:`SpanMemo.take` turns it into text → spans only when a per-text caller asks.
Spans depend only on the text searched and the scanner's recognizers and allow-lists, so one
memo is shared by scanners with the same of both (:func:`memo_for`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from itertools import repeat
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

if TYPE_CHECKING:
    from classifier.text import Span, SpanTable

MAX_TEXTS = 200_000  # texts held (pending batches and looked-up entries); then everything goes
MAX_BYTES = 32 << 20  # ... and bytes of pending texts


class SpanMemo:
    """Thread-safe: scans add and maskers take from several threads (the API serves both)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: list[tuple[pa.Array, np.ndarray, SpanTable, list[str] | None]] = []
        self._pending_rows = 0
        self._pending_bytes = 0
        self._spans: dict[str, list[Span]] = {}

    def add(self, values: pa.Array, searched: np.ndarray, table: SpanTable,
            texts: list[str] | None = None) -> None:
        """A scan's texts, which of them were fully searched, and the spans found; ``texts``:
        ``values`` as Python strings if the scan has them (saves converting them again)."""
        with self._lock:
            size = values.nbytes
            if (self._pending_rows + len(self._spans) + len(values) > MAX_TEXTS
                    or self._pending_bytes + size > MAX_BYTES):
                self._pending, self._pending_rows, self._pending_bytes, self._spans = [], 0, 0, {}
            if len(values) <= MAX_TEXTS and size <= MAX_BYTES:
                self._pending.append((values, searched, table, texts))
                self._pending_rows += len(values)
                self._pending_bytes += size

    def take(self, texts: list[str]) -> dict[str, list[Span]]:
        """The known spans of those of ``texts`` a scan searched (shared lists: do not change them)."""
        with self._lock:
            none: list[Span] = []  # one shared list for the texts without spans
            for values, searched, table, py in self._pending:
                found = table.by_row()
                rows: Iterable[int]
                if searched.all():
                    rows, known = range(len(values)), py if py is not None else values.to_pylist()
                else:
                    picked = np.flatnonzero(searched)
                    rows = picked.tolist()
                    known = ([py[i] for i in rows] if py is not None
                             else values.take(pa.array(picked)).to_pylist())
                self._spans.update(zip(known, map(found.get, rows, repeat(none))))
            self._pending, self._pending_rows, self._pending_bytes = [], 0, 0
            spans = self._spans
            return {t: spans[t] for t in texts if t in spans}


_MEMOS: dict[Any, SpanMemo] = {}
_MEMOS_LOCK = threading.Lock()


def memo_for(key: Any) -> SpanMemo:
    with _MEMOS_LOCK:
        return _MEMOS.setdefault(key, SpanMemo())
