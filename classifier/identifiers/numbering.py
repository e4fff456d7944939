"""China's numbering plan from Google's libphonenumber metadata (the ``phonenumbers`` package).

The metadata says which national numbers are mobile or fixed-line as regexes. Matching those per
value costs ~2 µs; the column engine needs ~20 ns. So the regex is turned, once, into a lookup
table over the leading digits: a prefix is expanded digit by digit until every completion of it
agrees (checked on several fills), and the table is indexed by the deepest prefix needed.
"""

from __future__ import annotations

import os
import re
import zlib
from functools import cache

import numpy as np
import phonenumbers
import regex

from classifier.usercache import user_cache_dir

# Fixed fills plus seeded random ones: deterministic, and varied enough to see every branch.
_FILLS = ("0" * 12, "9" * 12, "5" * 12, "1" * 12,
          *("".join(map(str, np.random.default_rng(seed).integers(0, 10, 12))) for seed in range(3)))
# Prefixes shorter than this are always expanded (a fill cannot see a 3-digit area code's branch);
# from here on a prefix is decided when all its fills agree.
MIN_DEPTH, MAX_DEPTH = 4, 7


def _decide(pattern: re.Pattern[str], prefix: str, length: int) -> bool | None:
    """True/False if every fill of ``prefix`` to ``length`` digits agrees, else None."""
    votes = {pattern.fullmatch(prefix + fill[:length - len(prefix)]) is not None for fill in _FILLS}
    return votes.pop() if len(votes) == 1 else None


def prefix_table(pattern: str, length: int) -> tuple[int, np.ndarray]:
    """(depth, bool[10**depth]): is a ``length``-digit national number with these leading
    ``depth`` digits a match of ``pattern``. A prefix no completion can match (``regex``'s partial
    matching says so exactly) is pruned at once."""
    partial = regex.compile(f"(?:{pattern})")
    full = re.compile(f"(?:{pattern})")  # the stdlib engine is faster for plain matches
    decided: dict[str, bool] = {}
    pending = [str(d) for d in range(10)]
    while pending:
        prefix = pending.pop()
        if partial.fullmatch(prefix, partial=True) is None:
            decided[prefix] = False
            continue
        verdict = None if len(prefix) < MIN_DEPTH else _decide(full, prefix, length)
        if verdict is None and len(prefix) < min(MAX_DEPTH, length):
            pending.extend(prefix + str(d) for d in range(10))
        else:
            decided[prefix] = bool(verdict)
    depth = max(len(p) for p in decided)
    table = np.zeros(10 ** depth, dtype=bool)
    for prefix, ok in decided.items():
        if ok:
            lo = int(prefix) * 10 ** (depth - len(prefix))
            table[lo:lo + 10 ** (depth - len(prefix))] = True
    return depth, table


def _cn() -> phonenumbers.PhoneMetadata:
    meta = phonenumbers.PhoneMetadata.metadata_for_region("CN")
    assert meta is not None
    return meta


def _desc(kind: str) -> tuple[str, tuple[int, ...]]:
    desc = getattr(_cn(), kind)
    assert desc is not None and desc.national_number_pattern is not None
    return str(desc.national_number_pattern), tuple(desc.possible_length)


def _cached(name: str, pattern: str, length: int) -> tuple[int, np.ndarray]:
    """:func:`prefix_table`, kept in the user's cache directory per phonenumbers version and
    pattern (building it costs about a second; loading it, a millisecond). Unwritable: rebuilt."""
    root = user_cache_dir()
    key = f"{phonenumbers.__version__}-{zlib.crc32(pattern.encode()):x}"
    path = root / f"cn-{name}-{length}-{key}.npy"
    try:
        table = np.load(path)
        depth = len(str(len(table) - 1))
        if len(table) == 10 ** depth:
            return depth, table
    except (OSError, ValueError):
        pass
    depth, table = prefix_table(pattern, length)
    try:
        root.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp.npy")
        np.save(tmp, table)
        tmp.replace(path)
    except OSError:
        pass
    return depth, table


@cache
def mobile_table() -> tuple[int, np.ndarray]:
    """11-digit national numbers libphonenumber calls mobile."""
    return _cached("mobile", _desc("mobile")[0], 11)


@cache
def fixed_line_tables() -> dict[int, tuple[int, np.ndarray]]:
    """National number length (9–11: area code without 0 + local number) → its prefix table."""
    pattern, lengths = _desc("fixed_line")
    return {n: _cached("fixed", pattern, n) for n in (9, 10, 11) if n in lengths}
