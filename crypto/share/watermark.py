"""Recipient watermarks (数据水印) in released values — see docs/design/watermark.md.

In the spirit of Agrawal & Kiernan (VLDB 2002), but keyed per recipient so a leak names who it
was released to: a value the policy allows to change by one ``step`` (an amount, a coordinate, a
date at its released level) is read as an integer ``q`` on its grid; the pair cell ``c = q // 2``
selects one keyed pseudo-random bit ``b`` and the value is moved to ``2c + b`` (at most one step).
``c`` does not change under marking, so detection needs no primary key and survives any row
subset, reordering, dropped columns and CSV/JSON Lines/xlsx conversion: each value carries its
own bit. The bit is a block-cipher PRF over ``field tag | level | c`` under a key derived (HKDF-SM3)
from the keyring's ``watermark`` key and the recipient (org, user); one ECB call covers a batch.

``hash`` pseudonyms keyed per consumer org (``pseudonyms: per_org``) end in a 4-hex tag, a PRF
MAC of the rest under the org's tag key: a leaked pseudonym names its org.
"""

from __future__ import annotations

import binascii
import json
import re
import struct
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from collections.abc import Callable
from itertools import compress, repeat
from operator import and_, itemgetter, rshift, truediv, xor
from typing import Any, Literal, cast

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from classifier.dates import parse_date
from crypto.primitives import aes_ecb_encryptor, derive, sm3

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
    """AES-128-ECB as a PRF over 16-byte blocks, one ``update`` per batch. Not SM4: the PRF guards
    no confidentiality, and SM4 in software (~0.2 µs a block here, against ~0.02 with AES-NI) cost
    a third of the watermark's overhead on 100-record batches (bench.share: +27% → +16%)."""

    def __init__(self, key: bytes) -> None:
        self._ecb = aes_ecb_encryptor(key)

    def bits(self, blocks: bytes) -> np.ndarray:
        out = np.frombuffer(self._ecb.update(blocks), dtype=np.uint8)
        return out[::16] & 1

    def first_bytes(self, blocks: bytes) -> bytes:
        """The first byte of each output block (its low bit is the mark's bit)."""
        return self._ecb.update(blocks)[::16]

    def tag_hex(self, blocks: bytes) -> list[str]:
        """The first two bytes of each output block in hex (one C call for the batch)."""
        out = self._ecb.update(blocks).hex()
        return [out[i:i + TAG_HEX] for i in range(0, len(out), 32)]

    def tag_ascii(self, blocks: bytes) -> bytes:
        """:meth:`tag_hex` of every block, joined, as ASCII bytes."""
        out = np.frombuffer(self._ecb.update(blocks), dtype=np.uint8).reshape(-1, 16)
        return binascii.hexlify(out[:, :TAG_HEX // 2].tobytes())

    def tags(self, blocks: bytes) -> np.ndarray:
        """The first two bytes of each output block as one 16-bit tag."""
        out = np.frombuffer(self._ecb.update(blocks), dtype=np.uint8).reshape(-1, 16)
        return out[:, 0].astype(np.uint16) << 8 | out[:, 1]


def field_tag(name: str, component: int) -> bytes:
    return sm3(f"{name}#{component}".encode("utf-8"))[:7]


_BLOCK = struct.Struct(">7sBq")


def block(tag: bytes, level: int, cell: int) -> bytes:
    return _BLOCK.pack(tag, level, cell)


def tag_block(body: str) -> bytes:
    """The PRF input of a pseudonym's tag: its first 15 bytes (already uniform HMAC output) and length."""
    head = body[:30]
    return bytes.fromhex(head[:len(head) // 2 * 2]).ljust(15, b"\0") + bytes([len(body)])


def split_pseudonym(value: Any) -> tuple[str, int] | None:
    """(body, tag) of a value shaped like a tagged hash pseudonym, else None."""
    if not isinstance(value, str) or not _HEX.fullmatch(value):
        return None
    return value[:-TAG_HEX], int(value[-TAG_HEX:], 16)


# -- reading and writing values on their grid ------------------------------------------------------
# A cell beyond ±2^53 steps carries no mark: neither the int64 PRF block nor a float written back
# holds it exactly, and NaN, infinities and 1e300 in an amount column are data to keep, not to move.
GRID_LIMIT = 1 << 53


def _grid(value: float | str, step: float) -> int | None:
    """The grid index of a number (or its text), None when it is no finite number within the grid."""
    try:
        q = round(float(value) / step)
    except (ValueError, OverflowError):
        return None
    return q if -GRID_LIMIT < q < GRID_LIMIT else None


def read(rule: ValueRule, value: Any) -> tuple[int, list[int]] | None:
    """(level, grid indices of each component) of a value, or None when it carries no mark.

    Liberal, for leaked files: numbers as numbers or text, dates as ISO text, other written
    forms (``parse_date``), or the date/datetime objects an xlsx reader gives."""
    if rule.kind == "number":
        step = rule.step
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            return None
        q = _grid(value, step)
        if q is not None:
            return NUMBER, [q]
        m = _PAIR.fullmatch(value) if isinstance(value, str) else None
        if m is None:
            return None
        a, b = _grid(m.group(1), step), _grid(m.group(3), step)
        return (NUMBER, [a, b]) if a is not None and b is not None else None
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


def _places(text: str) -> int:
    dot = text.find(".")
    return 0 if dot < 0 else len(text) - dot - 1


def step_places(step: float) -> int:
    exp = Decimal(repr(step)).as_tuple().exponent
    return -exp if isinstance(exp, int) and exp < 0 else 0


Form = tuple[Any, ...]  # how a value was written, so a moved one is written the same way


def embed_form(rule: ValueRule, value: Any, places: int) -> tuple[int, list[int], Form] | None:
    """Like :func:`read`, for released values: only the forms :func:`write` reproduces exactly."""
    if rule.kind == "number":
        step = rule.step
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            return None
        if not isinstance(value, str):
            q = _grid(value, step)
            return None if q is None else (NUMBER, [q], ("int" if isinstance(value, int) else "float",))
        text = value.strip()
        q = _grid(text, step)
        if q is not None:
            return NUMBER, [q], ("text", max(places, _places(text)))
        m = _PAIR.fullmatch(text)
        if m is None:
            return None
        a, sep, b = m.groups()
        qa, qb = _grid(a, step), _grid(b, step)
        if qa is None or qb is None:
            return None
        return NUMBER, [qa, qb], ("pair", max(places, _places(a), _places(b)), sep)
    if isinstance(value, int) and not isinstance(value, bool) and 1000 <= value <= 9999:
        return YEAR, [value], ("year_int",)
    if not isinstance(value, str):
        return None
    text = value.strip()
    m = _ISO_DAY.fullmatch(text)
    if m is not None:
        try:
            return DAY, [date(int(m.group(1)), int(m.group(2)), int(m.group(3))).toordinal()], ("day", m.group(4))
        except ValueError:
            return None
    if _YEAR.fullmatch(text):
        return YEAR, [int(text)], ("year",)
    m = _ISO_MONTH.fullmatch(text)
    if m is not None and 1 <= int(m.group(2)) <= 12:
        return MONTH, [int(m.group(1)) * 12 + int(m.group(2)) - 1], ("month",)
    return None


def write(rule: ValueRule, form: Form, qs: list[int], places: int) -> Any:
    """The value at grid indices ``qs``, in the form it came in."""
    kind, step, q = form[0], rule.step, qs[0]
    if kind == "text":
        return f"{q * step:.{form[1]}f}"
    if kind == "pair":
        return f"{q * step:.{form[1]}f}{form[2]}{qs[1] * step:.{form[1]}f}"
    if kind == "int":
        return int(q * step) if places == 0 else round(q * step, places)
    if kind == "float":
        return round(q * step, places)
    if kind == "day":
        return date.fromordinal(q).isoformat() + form[1]
    if kind == "month":
        return f"{q // 12:04d}-{q % 12 + 1:02d}"
    return q if kind == "year_int" else f"{q:04d}"


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


_UNITS = {DAY: "1 day", MONTH: "1 month", YEAR: "1 year"}
_BLOCKS = np.dtype([("head", ">u8"), ("cell", ">i8")])  # the PRF input as _BLOCK packs it: tag|level, cell
_EPOCH = date(1970, 1, 1).toordinal()
WriteBack = Any  # (new grid indices of the moved values, their positions, step places) → new values


def _column(name: str, rule: ValueRule, values: list[Any]) -> tuple[int, np.ndarray, WriteBack] | None:
    """(level, grid indices [component, value], writer) of a column of one regular form, else None."""
    step = rule.step
    first = values[0]
    try:
        if rule.kind == "date":
            if not (isinstance(first, str) and len(first) == 10 and first[4] == "-" == first[7]
                    and len("".join(values)) == 10 * len(values)):  # join: TypeError unless all text
                return None  # not all ISO days (datetime64 would also read "2024" as a day)
            days = np.array(values, dtype="datetime64[D]").astype(np.int64)
            return DAY, (days + _EPOCH).reshape(1, -1), _day_writer(name)
        if isinstance(first, str):
            if "," not in first:
                numbers = np.fromiter(map(float, values), dtype=np.float64, count=len(values))
                q = _on_grid(numbers, step)
                return None if q is None else (NUMBER, q.reshape(1, -1), _text_writer(name, first, step))
            parts = ",".join(values).split(",")
            if len(parts) != 2 * len(values):
                return None
            numbers = np.fromiter(map(float, parts), dtype=np.float64, count=len(parts)).reshape(-1, 2).T
            q = _on_grid(numbers, step)
            return None if q is None else (NUMBER, q, _pair_writer(name, parts, step))
        if all(type(v) is float for v in values) or all(type(v) is int for v in values):
            q = _on_grid(np.array(values, dtype=np.float64), step)
            return None if q is None else (NUMBER, q.reshape(1, -1), _number_writer(step, type(first) is int))
    except (ValueError, TypeError, OverflowError):  # one value of another form: the slow path
        return None
    return None


def _on_grid(numbers: np.ndarray, step: float) -> np.ndarray | None:
    """The grid indices of a column, None (value by value: :func:`embed_form` leaves such values as
    they are) when one is NaN, infinite or beyond the grid, which the int64 cast would turn into
    INT64_MIN and a moved value into -92233720368547760.00. One sum of squares below 2^106 bounds
    every index (NaN and overflow compare False): 0.9 µs a column against 2.1 for ``abs().max()``
    — numpy's fixed cost per call is what a 100-record batch pays. A column it refuses although
    each value fits (sums near 2^106) is marked value by value, with the same marks."""
    scaled = numbers / step
    if not np.vdot(scaled, scaled) < float(GRID_LIMIT) ** 2:
        return None
    return np.rint(scaled).astype(np.int64)


class _Texts:
    """A bounded memo of grid index → written text for one field in one form. Days and the
    coordinates of one region recur from batch to batch, so most moved values are looked up, not
    formatted (bench.share, 100-record batches: pairs 42 → 12 µs, days 21 → 5 µs); a field whose
    values do not recur (amounts) outgrows the memo once and is formatted from then on. The texts
    are a function of the grid alone: nothing about a record or a recipient is kept."""

    MAX = 1 << 12

    def __init__(self, write: Callable[[np.ndarray], list[str]]) -> None:
        self.write = write
        self.memo: dict[int, str] | None = {}

    def __call__(self, q: np.ndarray) -> list[str]:
        memo = self.memo
        if memo is None:
            return self.write(q)
        keys = q.tolist()
        found = list(map(memo.get, keys))
        if None not in found:
            return found  # type: ignore[return-value]  # no None left
        out = self.write(q)
        if len(memo) + len(keys) > self.MAX:
            self.memo = None
        else:
            memo.update(zip(keys, out))
        return out


_MEMOS: dict[tuple[Any, ...], _Texts] = {}


def _texts(key: tuple[Any, ...], write: Callable[[np.ndarray], list[str]]) -> _Texts:
    texts = _MEMOS.get(key)
    if texts is None:
        if len(_MEMOS) >= 1024:
            _MEMOS.clear()
        texts = _MEMOS[key] = _Texts(write)
    return texts


def _days(q: np.ndarray) -> list[str]:
    out: list[str] = np.datetime_as_string((q - _EPOCH).astype("datetime64[D]")).tolist()
    return out


def _numbers(step: float, places: int) -> Callable[[np.ndarray], list[str]]:
    form = f"{{:.{places}f}}".format
    return lambda q: list(map(form, (q * step).tolist()))


def _day_writer(name: str) -> WriteBack:
    texts = _texts((name, "day"), _days)
    return lambda new, moved, places: texts(new[0])


# A column's values share their decimals (a strategy's output, an export's amounts): the first
# value's, or the step's if finer, are used for the values moved.
def _text_writer(name: str, first: str, step: float) -> WriteBack:
    def write_back(new: np.ndarray, moved: np.ndarray, places: int) -> list[str]:
        p = max(places, _places(first))
        return _texts((name, step, p), _numbers(step, p))(new[0])
    return write_back


def _pair_writer(name: str, parts: list[str], step: float) -> WriteBack:
    """Both components of a moved pair written at the column's decimals."""
    def write_back(new: np.ndarray, moved: np.ndarray, places: int) -> list[str]:
        p = max(places, _places(parts[0]), _places(parts[1]))
        a, b = (_texts((name, comp, step, p), _numbers(step, p))(new[comp]) for comp in (0, 1))
        return [x + "," + y for x, y in zip(a, b)]
    return write_back


def _number_writer(step: float, integral: bool) -> WriteBack:
    def write_back(new: np.ndarray, moved: np.ndarray, places: int) -> list[Any]:
        values = (new[0] * step).tolist()
        if integral and places == 0:
            return [int(v) for v in values]
        return [round(v, places) for v in values]
    return write_back


class _Recall:
    """What one recipient's marks made of each released text, per field, component and decimals:
    ``text → (moved, text at the column's decimals)``. Days and the coordinates of a region recur
    from batch to batch, so a column whose texts were all seen before is marked by dict look-ups,
    without numpy's fixed cost per call (bench.share's 100-record batches, one repeated alone:
    ``Marker.apply`` ~200 → ~95 µs). Filled only from what the numpy path wrote, so the output is
    the same; bounded over all recipients by clearing when full, like ``_MEMOS``. It holds the
    released texts of this process's own answers (one field's component each), never keys or whole
    records. Concurrent calls may race on it harmlessly: every entry is correct once written, and
    ``size`` only decides when to clear."""

    MAX = 1 << 17  # entries over all recipients and fields (a few tens of MB at most)
    FIELD_MAX = 1 << 12  # a field whose texts do not recur (amounts) outgrows this and is not recalled

    def __init__(self) -> None:
        self.memos: dict[tuple[int, str, int, int], dict[str, tuple[bool, str]] | None] = {}
        self.size = 0

    def memo(self, key: tuple[int, str, int, int]) -> dict[str, tuple[bool, str]] | None:
        """The memo of one recipient, field, component and decimals; None once it outgrew FIELD_MAX."""
        memo = self.memos.get(key, {})
        if memo is not None and not memo:
            self.memos[key] = memo
        return memo

    def fill(self, key: tuple[int, str, int, int], texts: list[str], moved: list[bool], written: list[str]) -> None:
        memo = self.memos.get(key)
        if memo is None:
            return
        before = len(memo)
        memo.update(zip(texts, zip(moved, written)))
        self.size += len(memo) - before
        if len(memo) > self.FIELD_MAX:
            self.memos[key] = None
            self.size -= len(memo)
        if self.size > self.MAX:
            self.memos.clear()
            self.size = 0


_RECALL = _Recall()
_MARKER_IDS = iter(range(1 << 62))  # a fresh id per Marker: its memos are its own (key rotation → new Marker)


@dataclass
class _ColumnTexts:
    """A column's texts by component (one, or two for pairs), the keys of their memos and its
    decimals; ``done`` = (marked, changed) when the memo marked the whole column."""

    parts: list[list[str]]
    keys: list[tuple[int, str, int, int]]
    places: int
    done: tuple[int, int] | None = None


def _utility(utility: dict[str, Utility], name: str, rule: ValueRule, level: int) -> Utility:
    u = utility.get(name)
    if u is None:
        u = utility[name] = Utility(f"{rule.step:g}" if rule.kind == "number" else _UNITS[level])
    return u


def _present(records: list[dict[str, Any]], name: str) -> tuple[list[dict[str, Any]], list[Any]]:
    """The records with a non-None ``name`` and those values. ``map(itemgetter)`` and ``all`` run in
    C: ~4.5 + 0.8 µs a 100-record column against ~9 + 2.8 µs for ``[r.get(name) ...]`` and
    ``None in values`` (5 columns a batch); the slow forms only when a key is missing or a value
    is falsy."""
    try:
        values = list(map(itemgetter(name), records))
    except KeyError:
        values = [r.get(name) for r in records]
    if all(values) or None not in values:
        return records, values
    return [r for r, v in zip(records, values) if v is not None], [v for v in values if v is not None]


class Marker:
    """The value marks of one plan: (field, rule) under one recipient's PRF."""

    def __init__(self, prf: Prf, fields: list[tuple[str, ValueRule]]) -> None:
        self.prf = prf
        self.id = next(_MARKER_IDS)
        self.fields = tuple((name, rule, (field_tag(name, 0), field_tag(name, 1)), step_places(rule.step))
                            for name, rule in fields)

    def _recall(self, name: str, rule: ValueRule, places: int, rows: list[dict[str, Any]],
                values: list[Any]) -> _ColumnTexts | None:
        """A text column marked from the memo when all its texts were marked before (``done``),
        else what to fill the memo with after the numpy path; None for columns of other values.
        Same split and decimals as :func:`_column` and its writers."""
        first = values[0]
        if not isinstance(first, str):
            return None
        try:
            if rule.kind == "date" or "," not in first:
                p = 0 if rule.kind == "date" else max(places, _places(first))
                texts = _ColumnTexts([values], [(self.id, name, 0, p)], p)
            else:
                parts = ",".join(values).split(",")
                if len(parts) != 2 * len(values):
                    return None
                p = max(places, _places(parts[0]), _places(parts[1]))
                texts = _ColumnTexts([parts[0::2], parts[1::2]], [(self.id, name, c, p) for c in (0, 1)], p)
            memos = [_RECALL.memo(key) for key in texts.keys]
            if None in memos:
                return None  # a field whose texts do not recur
            found = [list(map(memo.__getitem__, part)) for memo, part in zip(memos, texts.parts) if memo is not None]
        except KeyError:  # a text not seen before: marked by numpy, then remembered
            return texts
        except TypeError:  # a value that is no text, or unhashable: the numpy path decides
            return None
        changed = 0
        if len(found) == 1:
            for record, (moved, text) in zip(rows, found[0]):
                if moved:
                    record[name] = text
                    changed += 1
        else:
            for record, (moved0, x), (moved1, y) in zip(rows, found[0], found[1]):
                if moved0 or moved1:
                    record[name] = x + "," + y
                    changed += 1
        texts.done = (len(rows), changed)
        return texts

    def apply(self, records: list[dict[str, Any]], utility: dict[str, Utility]) -> None:
        """Mark ``records`` in place; counts go into ``utility``. A column of one regular form (the
        usual case: numbers, numeric text, coordinate pairs, ISO days) is marked with numpy, and
        the regular columns of a batch share one PRF call: per value in Python it cost ~3.6 µs, 70%
        over masking alone; the fixed cost per column (blocks, PRF, moved) is what a 100-record
        ``/v1/mask`` batch pays most (bench.share), so text columns seen before are marked from
        the recipient's memo (:class:`_Recall`)."""
        todo: list[tuple[str, ValueRule, tuple[bytes, bytes], int, list[dict[str, Any]], Any, _ColumnTexts | None]] = []
        for name, rule, tags, places in self.fields:
            rows, values = _present(records, name)
            if rows:
                texts = self._recall(name, rule, places, rows, values)
                if texts is None and rule.kind == "number":
                    texts = self._numeric_text(name, rule, tags[0], places, rows, values)
                column = None if texts is not None and texts.done else _column(name, rule, values)
                todo.append((name, rule, tags, places, rows, column, texts))
        columns = [(t[2], t[5]) for t in todo if t[5] is not None]
        flip = self._flips(columns) if columns else None  # none: every column recalled or marked already
        at = 0
        for name, rule, tags, places, rows, column, texts in todo:
            if texts is not None and texts.done:  # marked from the memo already
                u = _utility(utility, name, rule, DAY if rule.kind == "date" else NUMBER)
                u.marked += texts.done[0]
                u.changed += texts.done[1]
                continue
            if column is None:
                self._one_by_one(name, rule, tags, places, rows, utility)
                continue
            level, q, write_back = column
            assert flip is not None  # a column for numpy: flipped above
            f = flip[at:at + q.size].reshape(q.shape)
            at += q.size
            single = len(f) == 1
            moved = cast(np.ndarray, f[0] if single else f.any(axis=0)).nonzero()[0]
            u = _utility(utility, name, rule, level)
            u.marked += len(rows)
            u.changed += len(moved)
            # the cell's other value: 2c + b where b differs from q's (one component: all moved ones flip)
            new = q[:, moved] ^ 1 if single else q[:, moved] ^ f[:, moved]
            for i, text in zip(moved.tolist(), write_back(new, moved, places)):
                rows[i][name] = text
            if texts is not None:
                self._remember(name, rule, level, q, f, texts)

    def _numeric_text(self, name: str, rule: ValueRule, tag: bytes, places: int, rows: list[dict[str, Any]],
                      values: list[Any]) -> _ColumnTexts | None:
        """A column of numeric text that the memo does not hold (amounts: their texts do not recur)
        marked with C-level ``map`` over Python ints instead of numpy, with the same result: after
        the masking pass numpy's fixed cost per call doubles (bench.share: ``_column`` of 100
        amounts 30 µs repeated alone, 60 µs right after a masking call; pure-Python work of that
        size +20%). ``done`` = (marked, changed); None (the numpy path decides) for anything else:
        pairs, values that are no numeric text, grid indices outside ±2^53, where numpy's int64
        and Python's ints could part."""
        first = values[0]
        if not isinstance(first, str) or "," in first:
            return None
        step = rule.step
        try:  # round(x / step): the double numpy divides and rounds half to even, as np.rint
            q = list(map(round, map(truediv, map(float, values), repeat(step))))
        except (ValueError, TypeError, OverflowError):
            return None
        if max(map(abs, q)) >= GRID_LIMIT:
            return None
        bits = self.prf.first_bytes(b"".join(map(_BLOCK.pack, repeat(tag), repeat(NUMBER), map(rshift, q, repeat(1)))))
        flips = list(map(and_, map(xor, bits, q), repeat(1)))  # the bit differs from q's parity: move
        p = max(places, _places(first))  # as _text_writer: the first value's decimals, or the step's
        form = f"{{:.{p}f}}".format
        changed = 0
        for record, x in zip(compress(rows, flips), map(xor, compress(q, flips), repeat(1))):
            record[name] = form(x * step)
            changed += 1
        return _ColumnTexts([], [], p, (len(rows), changed))

    def _remember(self, name: str, rule: ValueRule, level: int, q: np.ndarray, f: np.ndarray, texts: _ColumnTexts) -> None:
        """Fill the memo from a column the numpy path marked: each text's flip and the text of its
        new grid index, written as the column's writer writes it."""
        if not all(type(v) is str for part in texts.parts for v in part):
            return
        if level == DAY and not all(len(v) == 10 and v[4] == "-" == v[7] for v in texts.parts[0]):
            return  # numpy also read "2024" or "2024-01-05 00:00" as days: only ISO days are recalled
        write = _days if level == DAY else _numbers(rule.step, texts.places)
        for c, (key, part) in enumerate(zip(texts.keys, texts.parts)):
            written = ((name, "day") if level == DAY else (name, c, rule.step, texts.places) if len(texts.parts) == 2
                       else (name, rule.step, texts.places))  # the writers' own memo keys
            _RECALL.fill(key, part, f[c].tolist(), _texts(written, write)(q[c] ^ f[c]))

    def _flips(self, columns: list[tuple[tuple[bytes, bytes], Any]]) -> np.ndarray:
        """Whether each grid index of the columns (flattened in order) must move to carry its bit.
        The blocks' ``tag | level`` head is one integer per column component (fewer numpy calls:
        the fixed cost of a batch)."""
        if not columns:
            return np.zeros(0, dtype=bool)
        heads, sizes, qs = [], [], []
        for tags, (level, q, _) in columns:
            qs.append(q.ravel())
            for comp in range(q.shape[0]):
                heads.append(int.from_bytes(tags[comp] + bytes((level,)), "big"))
                sizes.append(q.shape[1])
        q_all = qs[0] if len(qs) == 1 else np.concatenate(qs)
        blocks = np.empty(q_all.shape, dtype=_BLOCKS)
        # one component (a batch whose other columns were recalled): the head broadcast, no repeat
        blocks["head"] = heads[0] if len(heads) == 1 else np.repeat(np.array(heads, dtype=np.uint64), sizes)
        blocks["cell"] = q_all >> 1
        flip: np.ndarray = self.prf.bits(blocks.tobytes()) != (q_all & 1)
        return flip

    def _one_by_one(self, name: str, rule: ValueRule, tags: tuple[bytes, bytes], places: int,
                    rows: list[dict[str, Any]], utility: dict[str, Utility]) -> None:
        """Columns of mixed forms: each value parsed and written back on its own."""
        items: list[tuple[dict[str, Any], int, list[int], Form]] = []
        blocks = bytearray()
        pack = _BLOCK.pack
        for record in rows:
            parsed = embed_form(rule, record[name], places)
            if parsed is None:
                continue
            level, qs, form = parsed
            for tag, q in zip(tags, qs):
                blocks += pack(tag, level, q >> 1)
            items.append((record, level, qs, form))
        if not items:
            return
        bits = self.prf.bits(bytes(blocks)).tolist()
        j = 0
        for record, level, qs, form in items:
            new = [(q >> 1 << 1) | bits[j + i] for i, q in enumerate(qs)]
            j += len(qs)
            u = _utility(utility, name, rule, level)
            u.marked += 1
            if new != qs:
                record[name] = write(rule, form, new, places)
                u.changed += 1

    def params(self, key_id: str, version: int) -> dict[str, Any]:
        return {"method": METHOD, "key_id": key_id, "version": version,
                "values": {name: rule.params() for name, rule, _, _ in self.fields}}


class Tagger:
    """Per-org ``hash`` pseudonyms end in the org's 4-hex tag of the rest (one PRF call a batch)."""

    def __init__(self, prf: Prf, fields: tuple[str, ...]) -> None:
        self.prf, self.fields = prf, fields

    def apply(self, records: list[dict[str, Any]]) -> None:
        columns = []
        for name in self.fields:
            rows, values = _present(records, name)
            if rows:
                columns.append((name, rows, values))
        if len(columns) > 1:  # the columns' pseudonyms tagged in one pass when they share a length:
            # numpy's fixed cost once, not per column (bench.share: 2 columns ~100 → ~78 µs a batch)
            tagged = _tag_column(self.prf, [v for _, _, values in columns for v in values])
            if tagged is not None:
                at = 0
                for name, rows, _ in columns:
                    for record, value in zip(rows, tagged[at:at + len(rows)]):
                        record[name] = value
                    at += len(rows)
                return
        for name, rows, values in columns:
            tagged = _tag_column(self.prf, values)
            if tagged is None:  # other lengths or forms: each value checked and tagged on its own
                pairs = [(r, v) for r, v in zip(rows, values) if isinstance(v, str) and _HEX.fullmatch(v)]
                rows = [r for r, _ in pairs]
                tags = self.prf.tag_hex(b"".join(tag_block(v[:-TAG_HEX]) for _, v in pairs))
                tagged = [v[:-TAG_HEX] + tag for (_, v), tag in zip(pairs, tags)]
            for record, value in zip(rows, tagged):
                record[name] = value


def _tag_column(prf: Prf, values: list[Any]) -> list[str] | None:
    """A column of lowercase hex pseudonyms of one even length ≥ 34 (the usual column) tagged with
    numpy at once, else None. A deletion of [0-9a-f] from the column's bytes stands in for a regex
    (``str.islower`` and ``bytes.fromhex`` cost ~180 instructions a character), and the tags are
    written into the column's code points, read back as ``str`` by numpy (no slicing per value):
    ~6,900 → ~2,500 instructions a pseudonym (callgrind over bench.share's 100-record batches)."""
    first = values[0]
    if not isinstance(first, str):
        return None
    size, n = len(first), len(values)
    try:
        joined = "".join(values)
    except TypeError:
        return None
    # One length for all: the total matches and none is longer (max: ~5.7 µs for 200 values, a set
    # of the lengths ~10). [0-9a-f] only: nothing left once bytes.translate deletes those (~5 µs
    # for 200 pseudonyms against ~8.5 for the numpy range check it replaced).
    if size < 34 or size % 2 or len(joined) != size * n or not joined.isascii() or max(map(len, values)) != size:
        return None
    ascii_ = joined.encode("ascii")
    if ascii_.translate(None, b"0123456789abcdef"):
        return None
    text = np.frombuffer(ascii_, dtype=np.uint8).reshape(n, size)
    # Each block: the first 15 bytes of the pseudonym and its body's length, written over the 16th
    # byte of the decoded column in place (5 numpy calls instead of 8: their fixed cost is what a
    # batch pays, about doubled after the masking pass).
    raw = np.frombuffer(bytearray(binascii.unhexlify(ascii_)), dtype=np.uint8).reshape(n, size // 2)
    raw[:, 15] = size - TAG_HEX
    out = text.astype(np.uint32)
    out[:, size - TAG_HEX:] = np.frombuffer(prf.tag_ascii(raw[:, :16].tobytes()), dtype=np.uint8).reshape(n, TAG_HEX)
    tagged: list[str] = out.view(f"<U{size}").ravel().tolist()  # code points → str, no slicing
    return tagged
