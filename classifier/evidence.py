"""Masked evidence samples: a report never carries a raw sensitive value."""

from __future__ import annotations


def mask_sample(value: str) -> str:
    """Keep a quarter of the characters at each end (at least the first one), star the rest.

    ``11010519491231002X`` → ``1101**********002X`` (the contract's example); ``梁鑫`` → ``梁*``.
    """
    n = len(value)
    if n <= 1:
        return "*"
    if n <= 3:
        return value[0] + "*" * (n - 1)
    keep = max(1, n // 4)
    return value[:keep] + "*" * (n - 2 * keep) + value[-keep:]
