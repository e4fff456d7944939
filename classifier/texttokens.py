"""Alphanumeric tokens of a text column, cut with numpy over the column's UTF-8 buffer.

Most identifiers in free text stand alone between Chinese characters or punctuation
(``联系电话13812345678，``). For the recognizers of :data:`TOKEN_ENTITIES` such a span is exactly one
*token* (a maximal run of ``[0-9A-Za-z]``), because their patterns start with an alphanumeric, ``+``
or ``(``, end with an alphanumeric, and hold no other characters than :data:`JOINERS` (and ``.``
after ``ext``). So in a text where no joiner touches a token on the sides where a pattern could
continue (``138 1234``, ``+86``, ``(010)``, ``ext.12``), a span of those recognizers is a token that
fullmatches the recognizer's ``CORE`` — exactly what Presidio-style search with the alphanumeric
boundaries would find — and the whole column is searched with one vectorised fullmatch over its
tokens. Texts where a joiner does touch a token (*glued* texts) keep the per-text regex search.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pyarrow as pa

# Entities whose patterns obey the rules above (checked by tests/classifier/test_text_tokens.py
# against the per-text search). A recognizer added later is searched per text until listed here.
TOKEN_ENTITIES = frozenset({"CN_RESIDENT_ID", "CN_USCC", "CN_BANK_CARD", "CN_MOBILE", "CN_PASSPORT",
                            "CN_HK_MACAO_PERMIT", "CN_LANDLINE"})
JOINERS = b" -+()"  # non-alphanumerics those patterns hold inside a span
OPENERS = b"+("     # joiners a span may start with



class Tokens(NamedTuple):
    row: np.ndarray     # row of each token (tokens of glued rows left out)
    start: np.ndarray   # character offset of the token in its text
    length: np.ndarray  # characters (= bytes: tokens are ASCII)
    values: pa.Array    # the tokens, as strings
    glued: np.ndarray   # per row: a joiner touches a token (search that row per text)


def _buffer(values: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(row byte offsets from 0, the rows' UTF-8 bytes) of a string array, zero-copy."""
    n = len(values)
    offsets = np.frombuffer(values.buffers()[1], dtype=np.int32)[values.offset:values.offset + n + 1]
    data_buf = values.buffers()[2]
    if data_buf is None or offsets[-1] == offsets[0]:
        return offsets - offsets[0], np.zeros(0, dtype=np.uint8)
    data = np.frombuffer(data_buf, dtype=np.uint8)[offsets[0]:offsets[-1]]
    return (offsets - offsets[0]).astype(np.int64), data


def tokens(values: pa.Array, min_len: int) -> Tokens:
    """Tokens of at least ``min_len`` characters in the rows that are not glued."""
    n = len(values)
    offsets, data = _buffer(values)
    size = data.size
    empty = np.zeros(0, dtype=np.int64)
    if size == 0:
        return Tokens(empty, empty, empty, pa.array([], type=pa.string()), np.zeros(n, dtype=bool))
    alnum = _alnum(data)
    first = np.zeros(size, dtype=bool)  # first byte of a row
    starts_of_rows = offsets[:-1][offsets[:-1] < offsets[1:]]
    first[starts_of_rows] = True
    last = np.zeros(size, dtype=bool)   # last byte of a row
    last[offsets[1:][offsets[:-1] < offsets[1:]] - 1] = True
    before = np.zeros(size, dtype=bool)  # the byte before is alphanumeric, same row
    before[1:] = alnum[:-1]
    before &= ~first
    after = np.zeros(size, dtype=bool)   # the byte after is alphanumeric, same row
    after[:-1] = alnum[1:]
    after &= ~last

    # joiners are few: work on their positions, not on byte-sized masks
    at = np.flatnonzero(_any_of(data, JOINERS))
    dots = np.flatnonzero(data == 46)  # '.' of an extension (ext.123)
    dots = dots[dots >= 3]
    ext = dots[(data[dots - 3] == 101) & (data[dots - 2] == 120) & (data[dots - 1] == 116)]
    if ext.size:
        at = np.union1d(at, ext)
    # A joiner run touching alphanumerics on both sides, or holding + or ( before one, glues.
    glue_at = np.zeros(0, dtype=np.int64)
    if at.size:
        cont = np.zeros(at.size, dtype=bool)  # the joiner right before is in the same run
        cont[1:] = (at[1:] == at[:-1] + 1) & ~first[at[1:]]
        run_start = at[~cont]
        ends = np.ones(at.size, dtype=bool)
        ends[:-1] = ~cont[1:]
        run_end = at[ends]  # inclusive
        left = before[run_start]
        right = after[run_end]
        openers = at[_any_of(data[at], OPENERS)]
        opener = np.searchsorted(openers, run_start) < np.searchsorted(openers, run_end, side="right")
        glue_at = run_start[(left & right) | (opener & right)]
    glued = np.zeros(n, dtype=bool)
    if glue_at.size:
        glued[np.searchsorted(offsets, glue_at, side="right") - 1] = True

    tok_start = np.flatnonzero(alnum & ~before)
    tok_end = np.flatnonzero(alnum & ~after) + 1
    length = tok_end - tok_start
    keep = length >= min_len
    tok_start, length = tok_start[keep], length[keep]
    row = np.searchsorted(offsets, tok_start, side="right") - 1
    free = ~glued[row]
    tok_start, length, row = tok_start[free], length[free], row[free]
    if tok_start.size == 0:
        return Tokens(empty, empty, empty, pa.array([], type=pa.string()), glued)
    char_start = _char_offsets(data, offsets[row], tok_start)
    # gather the token bytes into one buffer
    tok_offsets = np.zeros(tok_start.size + 1, dtype=np.int32)
    np.cumsum(length, out=tok_offsets[1:])
    pos = np.arange(tok_offsets[-1], dtype=np.int64) - np.repeat(tok_offsets[:-1] - tok_start, length)
    strings = pa.StringArray.from_buffers(tok_start.size, pa.py_buffer(tok_offsets),
                                          pa.py_buffer(np.ascontiguousarray(data[pos])))
    return Tokens(row, char_start, length, strings, glued)


def _alnum(data: np.ndarray) -> np.ndarray:
    """Per byte: ASCII ``[0-9A-Za-z]``. Compares on wrapping uint8 arithmetic: ~4× faster than a
    256-entry look-up table indexed by the bytes (``table[data]``, 10 ms per 3.6 MB here)."""
    result: np.ndarray = ((data - 48) < 10) | (((data | 32) - 97) < 26)
    return result


def _any_of(data: np.ndarray, chars: bytes) -> np.ndarray:
    """Per byte: is it one of ``chars`` (a few compares; no look-up table, see :func:`_alnum`)."""
    result = np.zeros(data.size, dtype=bool)
    for c in chars:
        result |= data == c
    return result


def _char_offsets(data: np.ndarray, row_start: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Characters between each ``row_start`` and ``at`` (byte offsets of tokens in column order):
    UTF-8 lead bytes counted per segment between consecutive offsets (``reduceat``) — a running
    count over every byte of the column cost ~40 ms per 50,000 texts, this ~5. The points are
    each row's start (if no token starts it) followed by its tokens: increasing, as reduceat needs."""
    first = np.ones(at.size, dtype=bool)  # the first token of its row
    first[1:] = row_start[1:] != row_start[:-1]
    own = first & (row_start < at)  # rows that get a point of their own before their first token
    at_point = np.cumsum(own.astype(np.int64) + 1) - 1  # index of each token's point
    points = np.empty(at.size + int(own.sum()), dtype=np.int64)
    points[at_point] = at
    points[at_point[own] - 1] = row_start[own]
    lead = ((data & 0xC0) != 0x80).view(np.uint8)
    seg = np.add.reduceat(lead, points, dtype=np.int64)
    before = np.zeros(points.size, dtype=np.int64)  # lead bytes from points[0] to each point
    np.cumsum(seg[:-1], out=before[1:])
    row_point = np.where(first, at_point - own, 0)  # the row's start point, on its first token
    np.maximum.accumulate(row_point, out=row_point)  # ... carried to the row's other tokens
    result: np.ndarray = before[at_point] - before[row_point]
    return result
