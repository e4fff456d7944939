"""银行卡号: 16–19 digits with a Luhn check digit, or 15 digits on an American Express range.

Reference: ``stdnum.luhn``. Looser than the classification contract's 16–19 digits on purpose:
American Express cards, also issued co-branded in China (``370247…``), have 15 digits; only the
34/37 ranges are taken at that length, because every 15-digit number with a valid Luhn digit would
also catch legacy 15-digit resident IDs and serials. Written forms: spaces or dashes between digits.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from classifier.identifiers.text import clean

if TYPE_CHECKING:
    import pyarrow as pa

CORE = "[0-9](?:[ -]?[0-9]){14,18}"
MIN_LEN, MAX_LEN = 15, 25
_FIFTEEN = ("34", "37")


def compact(text: str) -> str:
    return clean(text).replace(" ", "").replace("-", "")


def compact_many(values: pa.Array) -> pa.Array:
    import pyarrow.compute as pc

    return pc.replace_substring(pc.replace_substring(values, " ", ""), "-", "")  # literal: fast


def is_valid(text: str) -> bool:
    import pyarrow as pa

    return bool(valid_many(pa.array([compact(text)]))[0])


def luhn_ok(digits: np.ndarray) -> np.ndarray:
    """Luhn over an (n, width) matrix of digit values (right-most digit is the check digit)."""
    rev = digits[:, ::-1].copy()
    doubled = rev[:, 1::2] * 2
    rev[:, 1::2] = doubled - 9 * (doubled > 9)
    result: np.ndarray = rev.sum(axis=1) % 10 == 0
    return result


def valid_many(values: pa.Array) -> np.ndarray:
    import pyarrow as pa
    import pyarrow.compute as pc

    from classifier.identifiers.matrix import fixed_width

    lengths = pc.utf8_length(values).to_numpy(zero_copy_only=False)
    ok = np.zeros(len(values), dtype=bool)
    for width in range(15, 20):
        idx = np.flatnonzero(lengths == width)
        if idx.size == 0:
            continue
        raw = fixed_width(values.take(pa.array(idx)), width) - np.uint8(48)  # non-digits wrap > 9
        digits = np.asarray((raw <= 9).all(axis=1))
        m = np.where(digits[:, None], raw, 0).astype(np.int16)
        good = digits & luhn_ok(m)
        if width == 15:
            lead = m[:, 0] * 10 + m[:, 1]
            good &= np.isin(lead, [int(p) for p in _FIFTEEN])
        ok[idx] = good
    return ok


def mask_positions(text: str) -> list[int]:
    return [i for i, ch in enumerate(text) if ch.isdigit()]
