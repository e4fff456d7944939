"""居民身份证号 (GB 11643-1999): 18 chars, legacy 15 digits.

Reference: ``stdnum.cn.ric``. Shuwei accepts the same numbers except, deliberately:
- the division code must have been in use in some year at or after the birth year (stdnum wants it
  in use *in* the birth year, which rejects everyone registered after a county was renamed — GB
  11643's own example ``440524188001010014`` among them);
- the birth date must be from 1800 to today (stdnum takes any calendar date, future ones too);
- the legacy 15-digit form (19YYMMDD implied, no check char) is accepted; stdnum has none.
Written forms: spaced or dashed 6-8-4 groups, lower-case ``x``, full-width digits, an Excel apostrophe.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from classifier.identifiers.dates import real_dates
from classifier.identifiers.divisions import last_year_table
from classifier.identifiers.text import clean

if TYPE_CHECKING:
    import pyarrow as pa

_SEP = "[ -]?"
_DATE = "(?:18|19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])"
CORE = (f"[1-9][0-9]{{5}}{_SEP}{_DATE}{_SEP}[0-9]{{3}}[0-9Xx]"
        "|[1-9][0-9]{7}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])[0-9]{3}")
MIN_LEN, MAX_LEN = 15, 20
WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int32)
_POWERS = np.array([100000, 10000, 1000, 100, 10, 1], dtype=np.int32)
_CHECK = np.frombuffer(b"10X98765432", dtype=np.uint8)
MIN_YEAR = 1800
CHARS = "0123456789X"


def compact(text: str) -> str:
    """The bare number: no separators, upper-case ``X``."""
    return clean(text).replace(" ", "").replace("-", "").upper()


def is_valid(text: str) -> bool:
    import pyarrow as pa

    return bool(valid_many(pa.array([compact(text)]))[0])


def check_char(number17: str) -> str:
    """ISO 7064 MOD 11-2 check char of the first 17 digits."""
    return chr(_CHECK[sum(int(c) * w for c, w in zip(number17, WEIGHTS)) % 11])


def valid_many(values: pa.Array) -> np.ndarray:
    """Vectorised validity of compacted numbers (see :func:`compact`; a lower-case ``x`` is fine)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from classifier.identifiers.matrix import fixed_width

    lengths = pc.utf8_length(values).to_numpy(zero_copy_only=False)
    ok = np.zeros(len(values), dtype=bool)
    last = last_year_table()
    long_idx = np.flatnonzero(lengths == 18)
    if long_idx.size:
        m = fixed_width(values.take(pa.array(long_idx)), 18)
        raw = m[:, :17] - np.uint8(48)  # uint8 wraps: anything but a digit becomes > 9
        digits = np.asarray((raw <= 9).all(axis=1))
        d = np.where(digits[:, None], raw, 0).astype(np.int32)
        year = d[:, 6] * 1000 + d[:, 7] * 100 + d[:, 8] * 10 + d[:, 9]
        code = d[:, :6] @ _POWERS
        check = np.where(m[:, 17] == ord("x"), ord("X"), m[:, 17])
        ok[long_idx] = (digits & (_CHECK[(d @ WEIGHTS) % 11] == check)
                        & real_dates(year, d[:, 10] * 10 + d[:, 11], d[:, 12] * 10 + d[:, 13],
                                     min_year=MIN_YEAR)
                        & (last[code] >= year))
    short_idx = np.flatnonzero(lengths == 15)
    if short_idx.size:
        raw = fixed_width(values.take(pa.array(short_idx)), 15) - np.uint8(48)
        digits = np.asarray((raw <= 9).all(axis=1))
        d = np.where(digits[:, None], raw, 0).astype(np.int32)
        year = 1900 + d[:, 6] * 10 + d[:, 7]
        ok[short_idx] = (digits & real_dates(year, d[:, 8] * 10 + d[:, 9], d[:, 10] * 10 + d[:, 11])
                         & (last[d[:, :6] @ _POWERS] >= year))
    return ok


def compact_many(values: pa.Array) -> pa.Array:
    """Vectorised :func:`compact` over cleaned values (case is left: :func:`valid_many` folds it)."""
    import pyarrow.compute as pc

    if not pc.any(pc.greater(pc.utf8_length(values), 18)).as_py():
        return values  # no room for a separator: the common case costs one pass
    return pc.replace_substring(pc.replace_substring(values, " ", ""), "-", "")
