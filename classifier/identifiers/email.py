"""电子邮箱: the common RFC 5322 form local@domain.tld."""

from __future__ import annotations

CORE = "[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\\.[A-Za-z0-9-]+)*\\.[A-Za-z]{2,}"
REJECT = "^\\.|\\.\\.|^[^@]{65,}@"  # leading dot, double dot, local part over 64 chars
MIN_LEN, MAX_LEN = 5, 254


def mask_positions(text: str) -> list[int]:
    return list(range(len(text)))
