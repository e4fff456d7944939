"""Canary records (蜜罐记录) in static exports: synthetic people that exist nowhere else, masked
like every other record and hidden among them. Their distinctive released values (pseudonyms,
tokens, values kept in clear, identifier-like serials) are stored in ``share.db`` with the
release, so a leaked file that contains one names its release, and a later audit event that
touches one is a honeytoken alert (soc). Canary values are synthetic, never real data."""

from __future__ import annotations

import random
import re
from typing import Any

from classifier.dates import parse_date
from crypto.share.db import connect, db_path
from crypto.strategies import FAKERS

_ID_LIKE = re.compile(r"[A-Za-z0-9-]{6,}")
MIN_LEN = 6  # shorter released values are too common to name a release
ROWS_PER_CANARY = 500  # at most one canary per 500 real rows of the first chunk: small exports stay whole


def _serial(value: str, rng: random.Random) -> str:
    """A fresh identifier of the same shape: the first four characters kept, other digits drawn."""
    return value[:4] + "".join(rng.choice("0123456789") if ch.isdigit() else ch for ch in value[4:])


def _synthetic(value: Any) -> bool:
    return (isinstance(value, str) and bool(_ID_LIKE.fullmatch(value)) and sum(c.isdigit() for c in value) >= 4
            and parse_date(value) is None)


def _same_shape(template: Any, value: Any) -> bool:
    """A fake fits where the real value's form does (a pair of coordinates, not one of them)."""
    return isinstance(template, str) and isinstance(value, str) and ("," in template) == ("," in value)


def make(templates: list[dict[str, Any]], entities: dict[str, str | None], n: int,
         rng: random.Random) -> tuple[list[dict[str, Any]], set[str]]:
    """``n`` canary records shaped like ``templates`` (real rows of the export) and the fields
    that were synthesized (the others copy a random real row's value, so the canary blends in)."""
    from faker import Faker

    faker = Faker("zh_CN")
    faker.seed_instance(rng.getrandbits(64))
    out, made = [], set()
    for _ in range(n):
        row = dict(rng.choice(templates))
        for name, value in row.items():
            if value is None:
                continue
            fake = FAKERS.get(entities.get(name) or "")
            made_value = fake(faker) if fake is not None else None
            if made_value is not None and _same_shape(value, made_value):
                row[name] = made_value
                made.add(name)
            elif _synthetic(value):
                row[name] = _serial(value, rng)
                made.add(name)
        out.append(row)
    return out, made


def distinctive(records: list[dict[str, Any]], fields: set[str]) -> list[tuple[str, str]]:
    """(field, released value) pairs of the masked canaries worth watching: unmasked, long enough."""
    out = []
    for r in records:
        for name in fields:
            value = r.get(name)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                value = str(value)
            if isinstance(value, str) and len(value) >= MIN_LEN and "*" not in value:
                out.append((name, value))
    return out


def store(data_dir: Any, release_id: str, values: list[tuple[str, str]]) -> None:
    with connect(data_dir) as conn:
        conn.executemany("INSERT OR IGNORE INTO canaries VALUES (?,?,?)",
                         [(value, release_id, name) for name, value in values])


def load(data_dir: Any) -> dict[str, tuple[str, str]]:
    """Every stored canary value → (release_id, field)."""
    if not db_path(data_dir).exists():
        return {}
    with connect(data_dir) as conn:
        rows = conn.execute("SELECT value, release_id, field FROM canaries").fetchall()
    return {r[0]: (r[1], r[2]) for r in rows}
