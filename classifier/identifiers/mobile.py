"""手机号码: 11-digit national numbers libphonenumber's metadata calls mobile in China.

Reference: ``phonenumbers`` (``parse(text, "CN")``, valid and of type MOBILE); the allocated
prefixes come from its metadata (:mod:`classifier.identifiers.numbering`), so they follow its
releases. Written forms: ``+86``/``86``/``0086``/``(+86)`` prefix, spaces or dashes anywhere between
digits, full-width digits. Deliberately stricter: the national prefix ``0`` before a mobile
(``013812345678``, which libphonenumber strips) and carrier-selection prefixes are not accepted.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from classifier.identifiers.numbering import mobile_table
from classifier.identifiers.text import clean

if TYPE_CHECKING:
    import pyarrow as pa

COUNTRY = "(?:(?:\\+|00)?86|\\((?:\\+|00)?86\\))[ -]?"
CORE = f"(?:{COUNTRY})?1[3-9][0-9](?:[ -]?[0-9]){{8}}"
MIN_LEN, MAX_LEN = 11, 24
_COUNTRY_PREFIX = "^(?:\\+|00)?86|^\\((?:\\+|00)?86\\)"


def compact(text: str) -> str:
    """The 11-digit national number (country code and separators dropped)."""
    import re

    digits = re.sub(r"[^0-9]", "", re.sub(_COUNTRY_PREFIX, "", clean(text)))
    return digits


def compact_many(values: pa.Array) -> pa.Array:
    import pyarrow.compute as pc

    if not pc.any(pc.not_equal(pc.utf8_length(values), 11)).as_py():
        return values  # bare 11-digit numbers, the common case: one pass
    return pc.replace_substring_regex(pc.replace_substring_regex(values, _COUNTRY_PREFIX, ""),
                                      "[^0-9]", "")


def is_valid(text: str) -> bool:
    import pyarrow as pa

    return bool(valid_many(pa.array([compact(text)]))[0])


def valid_many(values: pa.Array) -> np.ndarray:
    """Vectorised validity of compacted (11-digit) numbers."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from classifier.identifiers.matrix import fixed_width

    ok: np.ndarray = pc.utf8_length(values).to_numpy(zero_copy_only=False) == 11
    idx = np.flatnonzero(ok)
    if idx.size:
        depth, table = mobile_table()
        m = fixed_width(values.take(pa.array(idx)), 11).astype(np.int64) - 48
        digits = ((m >= 0) & (m <= 9)).all(axis=1)
        ok[idx] = digits & table[np.clip(m[:, :depth], 0, 9) @ (10 ** np.arange(depth - 1, -1, -1))]
    return ok


def mask_positions(text: str) -> list[int]:
    """Positions of the national number's digits: the last 11 (a country code stays as written)."""
    return [i for i, ch in enumerate(text) if ch.isdigit()][-11:]
