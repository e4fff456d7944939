"""Normalisation shared by every identifier: what a cell's text must go through before validation."""

from __future__ import annotations

import re
import unicodedata
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa

# Excel marks a number stored as text with a leading apostrophe; exports sometimes keep it.
APOSTROPHE = "^'\\s*"
_APOSTROPHE = re.compile(APOSTROPHE)
# A long number Excel turned into a float: 2.10725E+17. The digits after the sixth are gone.
EXCEL_SCIENTIFIC = "^[1-9]\\.[0-9]{1,14}E\\+1[4-9]$"


def clean(text: str) -> str:
    """NFKC (full-width digits, letters and brackets → ASCII), trimmed, Excel apostrophe dropped."""
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
    return _APOSTROPHE.sub("", text.strip())


def clean_many(values: pa.Array) -> pa.Array:
    """Vectorised :func:`clean` over an Arrow string array."""
    import pyarrow.compute as pc  # pyarrow loads only where columns are processed

    values = pc.utf8_trim_whitespace(nfkc_many(values))
    if pc.any(pc.starts_with(values, "'")).as_py():
        values = pc.replace_substring_regex(values, APOSTROPHE, "")
    return values


# Code points NFKC leaves alone wherever they stand: no decomposition, combining class 0, never the
# second of a composition pair (checked over each one, by unicodedata and by Arrow, in
# tests/classifier/test_identifiers.py). Chinese text is mostly these plus full-width ASCII.
NFKC_STABLE = ((0x00, 0x7F), (0xB7, 0xB7), (0xD7, 0xD7), (0x2013, 0x2016), (0x2018, 0x201F),
               (0x2022, 0x2022), (0x3001, 0x3003), (0x3008, 0x3011), (0x3014, 0x301B),
               (0x3400, 0x4DBF), (0x4E00, 0x9FFF))
_NOT_STABLE = "[^{}]".format("".join(f"\\x{{{a:X}}}-\\x{{{b:X}}}" for a, b in NFKC_STABLE))


def nfkc_many(values: pa.Array) -> pa.Array:
    """NFKC of each string, as Arrow's ``utf8_normalize`` gives it, at about half its cost on
    Chinese text (47 → ~20 ms per 50,000 texts of 40 characters measured here): full-width ASCII
    and U+3000 become ASCII in one pass over the bytes (their NFKC form), and only strings then
    holding a character outside :data:`NFKC_STABLE` go through ``utf8_normalize``. NFKC of the
    translated string is NFKC of the original (a full-width character's NFKD is its ASCII)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if values.null_count or not pa.types.is_string(values.type):
        return pc.utf8_normalize(values, "NFKC")
    if pc.all(pc.string_is_ascii(values)).as_py() is not False:
        return values  # ASCII is NFKC already (a column of numbers or codes)
    values = _full_width_to_ascii(values)
    unstable = pc.match_substring_regex(values, _NOT_STABLE)
    if not pc.any(unstable).as_py():
        return values
    return pc.replace_with_mask(values, unstable, pc.utf8_normalize(values.filter(unstable), "NFKC"))


def _full_width_to_ascii(values: pa.Array) -> pa.Array:
    """U+FF01–U+FF5E → U+0021–U+007E and U+3000 → space, over the UTF-8 bytes (3 bytes → 1)."""
    import numpy as np
    import pyarrow as pa

    n = len(values)
    bufs = values.buffers()
    offsets = np.frombuffer(bufs[1], dtype=np.int32)[values.offset:values.offset + n + 1]
    if bufs[2] is None or offsets[-1] == offsets[0]:
        return values
    data = np.frombuffer(bufs[2], dtype=np.uint8)[offsets[0]:offsets[-1]]
    if data.size < 3:
        return values
    lead = np.flatnonzero((data[:-2] == 0xEF) | (data[:-2] == 0xE3))
    b1, b2 = data[lead + 1].astype(np.int32), data[lead + 2].astype(np.int32)
    cp = ((data[lead].astype(np.int32) & 0x0F) << 12) | ((b1 & 0x3F) << 6) | (b2 & 0x3F)
    hit = ((cp >= 0xFF01) & (cp <= 0xFF5E)) | (cp == 0x3000)
    at, cp = lead[hit], cp[hit]
    if at.size == 0:
        return values
    out = data.copy()
    out[at] = np.where(cp == 0x3000, 0x20, cp - 0xFEE0).astype(np.uint8)
    keep = np.ones(data.size, dtype=bool)
    keep[at + 1] = False
    keep[at + 2] = False
    rel = offsets.astype(np.int64) - offsets[0]
    new_offsets = (rel - 2 * np.searchsorted(at, rel)).astype(np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(new_offsets), pa.py_buffer(out[keep]))


def significant(text: str, keep: str) -> list[int]:
    """Positions in ``text`` of the characters that make up the identifier (those whose NFKC form
    is in ``keep``): masking counts and replaces these and leaves separators where they were."""
    return [i for i, ch in enumerate(text) if unicodedata.normalize("NFKC", ch).upper() in keep]
