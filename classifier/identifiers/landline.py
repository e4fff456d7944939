"""固定电话: area code + local number, as libphonenumber's metadata allows for China.

Reference: ``phonenumbers`` (``parse(text, "CN")``, valid and of type FIXED_LINE). The area code
must exist and the local number have a length that city uses (8 digits in Beijing, Shanghai and
the other 2-digit areas; 7 or 8 elsewhere), from its metadata via prefix tables. Written forms:
``010-12345678``, ``(010)12345678``, ``010 12345678``, ``01012345678``, national grouping
``022 3466 1306``, international ``+86 21 6869 2259`` / ``+862122017620`` / ``0086-22-…`` /
``(+86)…``, an extension after a dash, ``x`` or ``ext`` (``-123``). Deliberately stricter: the local number
starts with 2–9 (libphonenumber also calls some 1xx service numbers and 95xxx hotlines fixed
lines; they are no person's contact), and a bare international form without ``+``/``00``
(``862122017620``) is not read as one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from classifier.identifiers.numbering import fixed_line_tables
from classifier.identifiers.text import clean

if TYPE_CHECKING:
    import pyarrow as pa

# Area codes are prefix-free: 10 and 2x are two digits, every other one three.
_AREA = "(?:10|2[0-9]|[3-9][0-9]{2})"
_LOCAL = "[2-9][0-9]{2,3}[ -]?[0-9]{4}"
_EXT = "(?:(?:-|ext\\.?|x)[0-9]{1,5})?"
_NATIONAL = f"(?:\\(0{_AREA}\\)|0{_AREA})[ -]?"
_INTERNATIONAL = f"(?:(?:\\+|00)86[ -]?|\\((?:\\+|00)?86\\)[ -]?)\\(?{_AREA}\\)?[ -]?"
CORE = f"(?:{_NATIONAL}|{_INTERNATIONAL}){_LOCAL}{_EXT}"
MIN_LEN, MAX_LEN = 10, 30
# Named groups for validation: the national significant number (area code without 0 + local).
_PARTS = (f"^(?:\\(0|0|(?:\\+|00)86[ -]?\\(?|\\((?:\\+|00)?86\\)[ -]?\\(?)(?P<area>{_AREA})\\)?[ -]?"
          f"(?P<head>[0-9]{{3,4}})[ -]?(?P<tail>[0-9]{{4}})")


_PLAIN = f"^0{_AREA}-?[2-9][0-9]{{6,7}}$"


def compact(text: str) -> str:
    """The national significant number: area code without its 0, then the local number."""
    import re

    m = re.match(_PARTS, clean(text))
    return "" if m is None else m["area"] + m["head"] + m["tail"]


def compact_many(values: pa.Array) -> pa.Array:
    """Vectorised :func:`compact`. ``0AAA-LLLLLLLL`` and bare digits, the usual export forms, take
    a fast path (a match plus a slice); capture groups cost RE2 several times more."""
    import pyarrow as pa
    import pyarrow.compute as pc

    plain = pc.fill_null(pc.match_substring_regex(values, _PLAIN), False)
    fast = pc.utf8_slice_codeunits(pc.replace_substring(values, "-", ""), 1)
    if pc.all(plain).as_py():
        return fast
    parts = pc.extract_regex(values, _PARTS)
    slow = pc.fill_null(pc.binary_join_element_wise(
        parts.field("area"), parts.field("head"), parts.field("tail"), ""), "")
    result: pa.Array = pc.if_else(plain, fast, slow)
    return result


def is_valid(text: str) -> bool:
    import pyarrow as pa

    return bool(valid_many(pa.array([compact(text)]))[0])


def valid_many(values: pa.Array) -> np.ndarray:
    """Vectorised validity of compacted national numbers (9–11 digits)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from classifier.identifiers.matrix import fixed_width

    lengths = pc.utf8_length(values).to_numpy(zero_copy_only=False)
    digits = pc.fill_null(pc.match_substring_regex(values, "^[0-9]+$"), False).to_numpy(zero_copy_only=False)
    ok = np.zeros(len(values), dtype=bool)
    for n, (depth, table) in fixed_line_tables().items():
        idx = np.flatnonzero(digits & (lengths == n))
        if idx.size:
            m = fixed_width(values.take(pa.array(idx)), n)[:, :depth].astype(np.int64) - 48
            ok[idx] = table[m @ (10 ** np.arange(depth - 1, -1, -1))]
    return ok


def mask_positions(text: str) -> list[int]:
    """Positions of the digits after any country code (area code and local number)."""
    digits = [i for i, ch in enumerate(text) if ch.isdigit()]
    written = clean("".join(text[i] for i in digits))
    return digits[4:] if written.startswith("0086") else digits[2:] if written.startswith("86") else digits
