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

    values = pc.utf8_trim_whitespace(pc.utf8_normalize(values, "NFKC"))
    if pc.any(pc.starts_with(values, "'")).as_py():
        values = pc.replace_substring_regex(values, APOSTROPHE, "")
    return values


def significant(text: str, keep: str) -> list[int]:
    """Positions in ``text`` of the characters that make up the identifier (those whose NFKC form
    is in ``keep``): masking counts and replaces these and leaves separators where they were."""
    return [i for i, ch in enumerate(text) if unicodedata.normalize("NFKC", ch).upper() in keep]
