"""Recipient watermarks (数据水印) in released values — see docs/design/watermark.md.

In the spirit of Agrawal & Kiernan (VLDB 2002), but keyed per recipient so a leak names who it
was released to: a value the policy allows to change by one ``step`` (an amount, a coordinate, a
date at its released level) is read as an integer ``q`` on its grid; the pair cell ``c = q // 2``
selects one keyed pseudo-random bit ``b`` and the value is moved to ``2c + b`` (at most one step).
``c`` does not change under marking, so detection needs no primary key and survives any row
subset, reordering, dropped columns and CSV/JSON Lines/xlsx conversion: each value carries its
own bit. The bit is SM4 (GB/T 32907) over ``field tag | level | c`` under a key derived from the
keyring's ``watermark`` key and the recipient (org, user); one ECB call covers a whole batch.

``hash`` pseudonyms keyed per consumer org (``pseudonyms: per_org``) end in a 4-hex tag, an SM4
MAC of the rest under the org's tag key: a leaked pseudonym names its org.
"""

from __future__ import annotations

import json
import re
import struct
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from classifier.dates import parse_date
from crypto.primitives import derive, sm3, sm4_ecb_encryptor

METHOD = "shuwei-wm/1"
TAG_HEX = 4  # hex chars of a pseudonym's recipient tag: 16 bits, 1 in 65,536 by chance
MARKABLE = frozenset({"keep", "truncate_geo", "generalize_date"})  # strategies whose output may carry a bit
Kind = Literal["number", "date"]
_PAIR = re.compile(r"\s*(-?\d+(?:\.\d+)?)\s*([,，])\s*(-?\d+(?:\.\d+)?)\s*")
_ISO_DAY = re.compile(r"(\d{4})-(\d{2})-(\d{2})((?:[ T]00:00(?::00)?)?)")
_ISO_MONTH = re.compile(r"(\d{4})-(\d{2})")
_YEAR = re.compile(r"\d{4}")
_HEX = re.compile(r"[0-9a-f]{16,64}")
DAY, MONTH, YEAR, NUMBER = 1, 2, 3, 4  # levels: part of the PRF input, so levels never collide


class ValueRule(BaseModel):
    """Fields (names or entities) whose released values the mark may move by one ``step``."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    fields: frozenset[str] = frozenset()
    entities: frozenset[str] = frozenset()
    kind: Kind = "number"
    step: float = Field(1.0, gt=0, description="number: the grid unit; date: ignored (one day/month/year)")

    def params(self) -> dict[str, Any]:
        return {"kind": self.kind, "step": self.step} if self.kind == "number" else {"kind": "date"}


class WatermarkSpec(BaseModel):
    """The policy's ``watermark:`` section."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    key_id: str = Field("watermark", pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    values: tuple[ValueRule, ...] = ()
    pseudonyms: Literal["per_org", "shared"] = "shared"
    canaries: int = Field(0, ge=0, le=100, description="synthetic records per static export")

    def rule_for(self, name: str, entity: str | None) -> ValueRule | None:
        for rule in self.values:
            if name in rule.fields or (entity is not None and entity in rule.entities):
                return rule
        return None


def recipient_key(material: bytes, org: str | None, user: str | None) -> bytes:
    return derive(material, "shuwei/watermark/v1|" + json.dumps([org or "", user or ""], ensure_ascii=False), 16)


def org_tag_key(material: bytes, org: str) -> bytes:
    return derive(material, "shuwei/pseudonym-tag/v1|" + org, 16)


def org_hash_key(hmac_key: bytes, org: str) -> bytes:
    """The per-org HMAC key of ``hash`` pseudonyms: the same person differs between orgs."""
    return derive(hmac_key, "shuwei/hash-per-org/v1|" + org)


class Prf:
    """SM4-ECB as a PRF over 16-byte blocks; one ``update`` per batch (~0.2 µs a block here)."""

    def __init__(self, key: bytes) -> None:
        self._ecb = sm4_ecb_encryptor(key)

    def bits(self, blocks: bytes) -> np.ndarray:
        out = np.frombuffer(self._ecb.update(blocks), dtype=np.uint8)
        return out[::16] & 1  # type: ignore[no-any-return]

    def tags(self, blocks: bytes) -> np.ndarray:
        """The first two bytes of each output block as one 16-bit tag."""
        out = np.frombuffer(self._ecb.update(blocks), dtype=np.uint8).reshape(-1, 16)
        return out[:, 0].astype(np.uint16) << 8 | out[:, 1]  # type: ignore[no-any-return]


def field_tag(name: str, component: int) -> bytes:
    return sm3(f"{name}#{component}".encode("utf-8"))[:7]


_BLOCK = struct.Struct(">7sBq")


def block(tag: bytes, level: int, cell: int) -> bytes:
    return _BLOCK.pack(tag, level, cell)


def tag_block(body: str) -> bytes:
    """The PRF input of a pseudonym's tag: its first 15 bytes (already uniform HMAC output) and length."""
    head = body[:30]
    return bytes.fromhex(head[:len(head) // 2 * 2]).ljust(15, b"\0") + bytes([len(body)])


def tag_pseudonym(prf: Prf, pseudonym: str) -> str:
    body = pseudonym[:-TAG_HEX]
    return body + f"{int(prf.tags(tag_block(body))[0]):04x}"


def split_pseudonym(value: Any) -> tuple[str, int] | None:
    """(body, tag) of a value shaped like a tagged hash pseudonym, else None."""
    if not isinstance(value, str) or not _HEX.fullmatch(value):
        return None
    return value[:-TAG_HEX], int(value[-TAG_HEX:], 16)


# -- reading and writing values on their grid ------------------------------------------------------
def _decimals(text: str) -> int:
    exp = Decimal(text).as_tuple().exponent
    return -exp if isinstance(exp, int) and exp < 0 else 0


def read(rule: ValueRule, value: Any) -> tuple[int, list[int]] | None:
    """(level, grid indices of each component) of a value, or None when it carries no mark.

    Liberal, for leaked files: numbers as numbers or text, dates as ISO text, other written
    forms (``parse_date``), or the date/datetime objects an xlsx reader gives."""
    if rule.kind == "number":
        step = rule.step
        if isinstance(value, bool):
            return None
        if isinstance(value, (int, float)):
            return NUMBER, [round(value / step)]
        if not isinstance(value, str):
            return None
        try:
            return NUMBER, [round(float(value) / step)]
        except ValueError:
            m = _PAIR.fullmatch(value)
            return NUMBER, [round(float(m.group(1)) / step), round(float(m.group(3)) / step)] if m else None
        except OverflowError:
            return None
    if isinstance(value, datetime):
        return DAY, [value.date().toordinal()]
    if isinstance(value, date):
        return DAY, [value.toordinal()]
    if isinstance(value, int) and not isinstance(value, bool) and 1000 <= value <= 9999:
        return YEAR, [value]
    if not isinstance(value, str):
        return None
    text = value.strip()
    m = _ISO_DAY.fullmatch(text)
    if m:
        try:
            return DAY, [date(int(m.group(1)), int(m.group(2)), int(m.group(3))).toordinal()]
        except ValueError:
            return None
    if _YEAR.fullmatch(text):
        return YEAR, [int(text)]
    m = _ISO_MONTH.fullmatch(text)
    if m and 1 <= int(m.group(2)) <= 12:
        return MONTH, [int(m.group(1)) * 12 + int(m.group(2)) - 1]
    d = parse_date(text)
    return (DAY, [d.toordinal()]) if d is not None else None


def _write_number(rule: ValueRule, value: Any, qs: list[int]) -> Any:
    step = rule.step
    if isinstance(value, int) and float(step).is_integer():
        return int(qs[0] * step)
    step_dec = _decimals(repr(step))
    if isinstance(value, float):
        return round(qs[0] * step, step_dec)
    m = _PAIR.fullmatch(value)
    if m:
        dec = max(step_dec, _decimals(m.group(1)), _decimals(m.group(3)))
        return f"{qs[0] * step:.{dec}f}{m.group(2)}{qs[1] * step:.{dec}f}"
    return f"{qs[0] * step:.{max(step_dec, _decimals(value.strip()))}f}"


def embed_form(rule: ValueRule, value: Any) -> tuple[int, list[int]] | None:
    """Like :func:`read`, but only for forms this module writes back exactly (ISO dates)."""
    if rule.kind == "number" or not isinstance(value, str):
        return read(rule, value)
    text = value.strip()
    if _YEAR.fullmatch(text) or (_ISO_MONTH.fullmatch(text) and 1 <= int(text[5:]) <= 12):
        return read(rule, text)
    m = _ISO_DAY.fullmatch(text)
    if m is None:
        return None
    try:
        return DAY, [date(int(m.group(1)), int(m.group(2)), int(m.group(3))).toordinal()]
    except ValueError:
        return None


def write(rule: ValueRule, value: Any, level: int, qs: list[int]) -> Any:
    """The value at grid indices ``qs``, in the form it came in."""
    if rule.kind == "number":
        return _write_number(rule, value, qs)
    q = qs[0]
    if level == YEAR:
        return q if isinstance(value, int) else f"{q:04d}"
    if level == MONTH:
        return f"{q // 12:04d}-{q % 12 + 1:02d}"
    m = _ISO_DAY.fullmatch(value.strip())
    return date.fromordinal(q).isoformat() + (m.group(4) if m else "")


# -- marking a batch -----------------------------------------------------------------------------
@dataclass
class Utility:
    """What marking cost, per field: values carrying a bit, values moved, by how much (≤ 1 step)."""

    unit: str  # one step: "0.01", "1 day", "1 year"
    marked: int = 0
    changed: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"marked": self.marked, "changed": self.changed, "max_change": self.unit if self.changed else "0"}

    def add(self, other: Utility) -> None:
        self.marked += other.marked
        self.changed += other.changed


@dataclass(frozen=True)
class Marker:
    """The value marks of one plan: (field, rule, component tags) under one recipient's PRF."""

    prf: Prf
    fields: tuple[tuple[str, ValueRule, tuple[bytes, bytes]], ...]

    def apply(self, records: list[dict[str, Any]], utility: dict[str, Utility]) -> None:
        """Mark ``records`` in place; counts go into ``utility``."""
        items: list[tuple[dict[str, Any], str, ValueRule, Any, int, list[int]]] = []
        blocks = bytearray()
        pack = _BLOCK.pack
        for record in records:
            for name, rule, tags in self.fields:
                value = record.get(name)
                if value is None:
                    continue
                parsed = embed_form(rule, value)
                if parsed is None:
                    continue
                level, qs = parsed
                for tag, q in zip(tags, qs):
                    blocks += pack(tag, level, q >> 1)
                items.append((record, name, rule, value, level, qs))
        if not items:
            return
        bits = self.prf.bits(bytes(blocks)).tolist()
        j = 0
        for record, name, rule, value, level, qs in items:
            new = [(q >> 1 << 1) | bits[j + i] for i, q in enumerate(qs)]
            j += len(qs)
            u = utility.get(name)
            if u is None:
                u = utility[name] = Utility(f"{rule.step:g}" if rule.kind == "number" else
                                            "1 " + {DAY: "day", MONTH: "month", YEAR: "year"}[level])
            u.marked += 1
            if new != qs:
                record[name] = write(rule, value, level, new)
                u.changed += 1

    def params(self, key_id: str, version: int) -> dict[str, Any]:
        return {"method": METHOD, "key_id": key_id, "version": version,
                "values": {name: rule.params() for name, rule, _ in self.fields}}


def tags_for(name: str) -> tuple[bytes, bytes]:
    return field_tag(name, 0), field_tag(name, 1)
