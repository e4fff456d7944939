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

_ALNUM = np.zeros(256, dtype=bool)
_ALNUM[np.frombuffer(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", np.uint8)] = True
_JOIN = np.zeros(256, dtype=bool)
_JOIN[np.frombuffer(JOINERS, np.uint8)] = True
_OPENERS = np.zeros(256, dtype=bool)  # joiners a span may start with
_OPENERS[np.frombuffer(b"+(", np.uint8)] = True


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
    alnum = _ALNUM[data]
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

    join = _JOIN[data]
    dots = np.flatnonzero(data == 46)  # '.' of an extension (ext.123)
    dots = dots[dots >= 3]
    ext = dots[(data[dots - 3] == 101) & (data[dots - 2] == 120) & (data[dots - 1] == 116)]
    join[ext] = True
    # A joiner run touching alphanumerics on both sides, or holding + or ( before one, glues.
    glue_at = np.zeros(0, dtype=np.int64)
    if join.any():
        jprev = np.zeros(size, dtype=bool)
        jprev[1:] = join[:-1]
        jprev &= ~first
        jnext = np.zeros(size, dtype=bool)
        jnext[:-1] = join[1:]
        jnext &= ~last
        run_start = np.flatnonzero(join & ~jprev)
        run_end = np.flatnonzero(join & ~jnext)  # inclusive
        left = before[run_start]
        right = after[run_end]
        opener = _inside(_OPENERS[data], run_start, run_end)
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
    # character offsets: count UTF-8 lead bytes before the token in its row
    lead = np.zeros(size + 1, dtype=np.int32)
    lead[1:] = np.cumsum(((data & 0xC0) != 0x80).view(np.uint8), dtype=np.int32)  # uint8: 7× faster than bool
    char_start = lead[tok_start] - lead[offsets[row]]
    # gather the token bytes into one buffer
    tok_offsets = np.zeros(tok_start.size + 1, dtype=np.int32)
    np.cumsum(length, out=tok_offsets[1:])
    pos = np.arange(tok_offsets[-1], dtype=np.int64) - np.repeat(tok_offsets[:-1] - tok_start, length)
    strings = pa.StringArray.from_buffers(tok_start.size, pa.py_buffer(tok_offsets),
                                          pa.py_buffer(np.ascontiguousarray(data[pos])))
    return Tokens(row, char_start, length, strings, glued)


def _inside(flags: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Per run [start, end] (inclusive): does any byte in it have ``flags``."""
    count = np.zeros(flags.size + 1, dtype=np.int32)
    count[1:] = np.cumsum(flags.view(np.uint8), dtype=np.int32)
    result: np.ndarray = count[end + 1] - count[start] > 0
    return result
