"""Masking strategies (脱敏算法) of the contract, one small class each.

Parameters are pydantic models, checked when the policy loads. ``build`` binds a strategy to one
field (entity, dataset, field, managed keys) and returns a callable ``value -> masked``. A value
that does not fit raises :class:`Unfit`; the engine then applies :func:`fallback` (full mask or
null, never the raw value) and reports the field.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, field_validator

from classifier.dates import parse_date
from classifier.surnames import split_name
from crypto.shapes import fits, mask_positions

if TYPE_CHECKING:
    from crypto.envelope import FieldCipher
    from crypto.fpe import FF1

Masker = Callable[[Any], Any]


class Unfit(Exception):
    """The value does not fit the strategy; the engine substitutes the safe fallback."""


def fallback(value: Any, mode: str = "mask") -> Any:
    """Full mask of a non-empty string (same length), else null."""
    if mode == "mask" and isinstance(value, str) and value:
        return "*" * len(value)
    return None


class KeyServices(Protocol):
    """Managed keys for the keyed strategies (see :mod:`crypto.keys`)."""

    def hmac_key(self, key_id: str) -> bytes: ...
    def ff1(self, key_id: str, cipher: str, alphabet: str) -> FF1: ...
    def field_cipher(self, key_id: str, algorithm: str) -> FieldCipher: ...


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    fallback: Literal["mask", "null"] = "mask"


class Strategy:
    id: str = ""
    Params: type[Params] = Params
    keyed = False
    repeatable = True  # the same value always gets the same form (False: random per call)

    @classmethod
    def build(cls, p: Any, entity: str | None, dataset: str, field: str,
              keys: KeyServices | None) -> Masker:
        raise NotImplementedError


def _text(value: Any) -> str:
    """Strategies over text take non-empty strings only; numbers where text is expected are unfit."""
    if not isinstance(value, str) or not value:
        raise Unfit
    return value


class Keep(Strategy):
    id = "keep"

    @classmethod
    def build(cls, p: Params, entity: str | None, dataset: str, field: str,
              keys: KeyServices | None) -> Masker:
        return lambda v: v


class Redact(Strategy):
    id = "redact"

    @classmethod
    def build(cls, p: Params, entity: str | None, dataset: str, field: str,
              keys: KeyServices | None) -> Masker:
        return lambda v: None


class MaskMiddleParams(Params):
    keep_first: int = Field(3, ge=0, le=64)
    keep_last: int = Field(4, ge=0, le=64)
    char: str = Field("*", min_length=1, max_length=1)


class MaskMiddle(Strategy):
    id = "mask_middle"
    Params = MaskMiddleParams

    @classmethod
    def build(cls, p: MaskMiddleParams, entity: str | None, dataset: str, field: str,
              keys: KeyServices | None) -> Masker:
        first, last, char = p.keep_first, p.keep_last, p.char
        keep = first + last

        def mask(value: Any) -> str:
            text = _text(value)
            if not fits(entity, text):
                raise Unfit
            # Count and replace the identifier's own characters only: separators, a country
            # code or Excel's apostrophe stay, so "+86 138-1234-5678" → "+86 138-****-5678".
            pos = mask_positions(entity, text)
            n = len(pos)
            # Keeping everything but nothing (or at most one char) would leak the value.
            if n - keep < max(2, n // 3):
                raise Unfit
            chars = list(text)
            for i in pos[first:n - last]:
                chars[i] = char
            return "".join(chars)
        return mask


_HAN = re.compile(r"[\u3400-\u9fff·•]+")
_LATIN_NAME = re.compile(r"[A-Za-z][A-Za-z'.-]*(?:\s+[A-Za-z][A-Za-z'.-]*)*")


class MaskNameParams(Params):
    char: str = Field("*", min_length=1, max_length=1)


class MaskName(Strategy):
    """Keeps the surname (复姓 kept whole): 欧阳娜娜 → 欧阳**, 张三 → 张*; Latin: Zhang San → Z**** S**."""
    id = "mask_name"
    Params = MaskNameParams

    @classmethod
    def build(cls, p: MaskNameParams, entity: str | None, dataset: str, field: str,
              keys: KeyServices | None) -> Masker:
        char = p.char

        def mask(value: Any) -> str:
            text = _text(value).strip()
            if _HAN.fullmatch(text):
                parts = split_name(text)
                keep = len(parts[0]) if parts else 1
                if len(text) <= keep:
                    raise Unfit
                return text[:keep] + char * (len(text) - keep)
            if _LATIN_NAME.fullmatch(text) and len(text) > 1:
                return " ".join(w[0] + char * (len(w) - 1) for w in text.split())
            raise Unfit
        return mask


_ADMIN = re.compile(
    r"(?P<province>(?:北京|上海|天津|重庆)市|[\u4e00-\u9fff]{2,8}?(?:省|自治区|特别行政区))?"
    r"(?P<city>[\u4e00-\u9fff]{1,9}?(?:自治州|地区|盟|市))?"
    r"(?P<district>[\u4e00-\u9fff]{1,9}?(?:区|县|旗|市))?"
    r"(?P<street>[\u4e00-\u9fff]{1,12}?(?:街道|镇|乡))?")
_LEVELS = ("province", "city", "district", "street")


class MaskAddressParams(Params):
    level: Literal["province", "city", "district", "street"] = "district"
    char: str = Field("*", min_length=1, max_length=1)
    mask_length: int = Field(4, ge=1, le=32)


class MaskAddress(Strategy):
    """Keeps the administrative divisions down to ``level``: 北京市东城区景山前街4号 → 北京市东城区****."""
    id = "mask_address"
    Params = MaskAddressParams

    @classmethod
    def build(cls, p: MaskAddressParams, entity: str | None, dataset: str, field: str,
              keys: KeyServices | None) -> Masker:
        upto = _LEVELS.index(p.level)
        tail = p.char * p.mask_length

        def mask(value: Any) -> str:
            text = _text(value).strip()
            m = _ADMIN.match(text)
            end = 0
            for name in _LEVELS[:upto + 1]:
                if m and m.group(name):
                    end = m.end(name)
            if end == 0:
                raise Unfit
            return text[:end] + tail
        return mask


_EMAIL = re.compile(r"([^@\s]+)@([^@\s]+\.[^@\s]+)")


class MaskEmailParams(Params):
    keep_first: int = Field(1, ge=0, le=8)
    stars: int = Field(7, ge=1, le=32)
    char: str = Field("*", min_length=1, max_length=1)


class MaskEmail(Strategy):
    """zhang.san@gov.cn → z*******@gov.cn; a fixed number of stars hides the local part's length."""
    id = "mask_email"
    Params = MaskEmailParams

    @classmethod
    def build(cls, p: MaskEmailParams, entity: str | None, dataset: str, field: str,
              keys: KeyServices | None) -> Masker:
        keep, tail = p.keep_first, p.char * p.stars

        def mask(value: Any) -> str:
            m = _EMAIL.fullmatch(_text(value).strip())
            if not m or len(m.group(1)) <= keep:
                raise Unfit
            return m.group(1)[:keep] + tail + "@" + m.group(2)
        return mask


def _date(value: Any) -> date:
    d = parse_date(_text(value).strip(), any_time=True)
    if d is None:
        raise Unfit
    return d


class GeneralizeDateParams(Params):
    level: Literal["year", "decade", "month"] = "year"


class GeneralizeDate(Strategy):
    """1987-06-15 → 1987 (year), 1980s (decade) or 1987-06 (month)."""
    id = "generalize_date"
    Params = GeneralizeDateParams

    @classmethod
    def build(cls, p: GeneralizeDateParams, entity: str | None, dataset: str, field: str,
              keys: KeyServices | None) -> Masker:
        level = p.level

        def mask(value: Any) -> str:
            d = _date(value)
            if level == "year":
                return str(d.year)
            if level == "decade":
                return f"{d.year // 10 * 10}s"
            return f"{d.year:04d}-{d.month:02d}"
        return mask


class GeneralizeNumberParams(Params):
    bucket: int = Field(10, ge=1)


def _number(value: Any) -> float:
    if isinstance(value, bool):
        raise Unfit
    if isinstance(value, (int, float)):
        number = float(value)
    else:
        try:
            number = float(_text(value).strip())
        except ValueError:
            raise Unfit from None
    if not math.isfinite(number):
        raise Unfit
    return number


class GeneralizeNumber(Strategy):
    """37 → "30-39" (bucket 10): the bucket [low, low + bucket)."""
    id = "generalize_number"
    Params = GeneralizeNumberParams

    @classmethod
    def build(cls, p: GeneralizeNumberParams, entity: str | None, dataset: str, field: str,
              keys: KeyServices | None) -> Masker:
        bucket = p.bucket

        def mask(value: Any) -> str:
            low = int(_number(value) // bucket * bucket)
            return str(low) if bucket == 1 else f"{low}-{low + bucket - 1}"
        return mask


_PAIR = re.compile(r"\s*(-?\d{1,3}(?:\.\d+)?)\s*[,，]\s*(-?\d{1,3}(?:\.\d+)?)\s*")


class TruncateGeoParams(Params):
    decimals: int = Field(2, ge=0, le=6)


class TruncateGeo(Strategy):
    """116.397128,39.916527 → 116.40,39.92; a single lon or lat column keeps its type."""
    id = "truncate_geo"
    Params = TruncateGeoParams

    @classmethod
    def build(cls, p: TruncateGeoParams, entity: str | None, dataset: str, field: str,
              keys: KeyServices | None) -> Masker:
        d = p.decimals

        def coordinate(value: Any) -> float:
            number = _number(value)
            if abs(number) > 180:
                raise Unfit
            return number

        def mask(value: Any) -> Any:
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return round(coordinate(value), d)
            text = _text(value)
            m = _PAIR.fullmatch(text)
            if m:
                lon, lat = coordinate(m.group(1)), coordinate(m.group(2))
                return f"{lon:.{d}f},{lat:.{d}f}"
            return f"{coordinate(text):.{d}f}"
        return mask


class HashParams(Params):
    key_id: str = "hash"
    length: int = Field(64, ge=16, le=64)


class Hash(Strategy):
    """Hex HMAC-SM3 under a managed key: a joinable pseudonym, not reversible."""
    id = "hash"
    Params = HashParams
    keyed = True

    @classmethod
    def build(cls, p: HashParams, entity: str | None, dataset: str, field: str,
              keys: KeyServices | None) -> Masker:
        import hmac
        assert keys is not None  # keyed: the engine passes its managed keys
        # Keyed once, copied per value: the key's pads are not hashed again for every value
        # (2.2 vs 3.7-4.1 µs per 18-byte value measured here, 1.7-1.9×).
        keyed, n = hmac.new(keys.hmac_key(p.key_id), digestmod="sm3"), p.length

        def mask(value: Any) -> str:
            if isinstance(value, (dict, list)) or value == "":
                raise Unfit
            h = keyed.copy()
            h.update((value if isinstance(value, str) else repr(value)).encode("utf-8"))
            return h.hexdigest()[:n]
        return mask


class TokenizeParams(Params):
    key_id: str = "fpe"
    cipher: Literal["AES", "SM4"] = "AES"
    alphabet: str = Field("0123456789", min_length=2)
    keep_first: int = Field(0, ge=0)
    keep_last: int = Field(0, ge=0)

    @field_validator("alphabet")
    @classmethod
    def _distinct(cls, v: str) -> str:
        if len(set(v)) != len(v):
            raise ValueError("alphabet has repeated characters")
        return v


class Tokenizer:
    """FF1 over the characters of the value that are in the alphabet; the others (dashes, 'X',
    spaces) and the kept head/tail stay in place, so the format survives. Reversible."""

    def __init__(self, ff1: Any, p: TokenizeParams) -> None:
        self.ff1, self.p = ff1, p
        self.chars = frozenset(p.alphabet)

    def _run(self, value: Any, encrypt: bool) -> str:
        from crypto.errors import DomainError

        text = _text(value)
        head, tail = self.p.keep_first, len(text) - self.p.keep_last
        if tail <= head:
            raise Unfit
        pos = [i for i in range(head, tail) if text[i] in self.chars]
        try:
            fn = self.ff1.encrypt if encrypt else self.ff1.decrypt
            out = fn("".join(text[i] for i in pos))
        except DomainError:
            raise Unfit from None
        chars = list(text)
        for i, ch in zip(pos, out):
            chars[i] = ch
        return "".join(chars)

    def encrypt(self, value: Any) -> str:
        return self._run(value, True)

    def decrypt(self, value: Any) -> str:
        return self._run(value, False)


class TokenizeFpe(Strategy):
    id = "tokenize_fpe"
    Params = TokenizeParams
    keyed = True

    @classmethod
    def build(cls, p: TokenizeParams, entity: str | None, dataset: str, field: str,
              keys: KeyServices | None) -> Masker:
        assert keys is not None  # keyed: the engine passes its managed keys
        return Tokenizer(keys.ff1(p.key_id, p.cipher, p.alphabet), p).encrypt


class EncryptParams(Params):
    key_id: str = "default"
    algorithm: Literal["SM4-GCM", "AES-256-GCM"] = "SM4-GCM"
    deterministic: bool = False
    fallback: Literal["mask", "null"] = "null"


class Encrypt(Strategy):
    """Envelope ciphertext string bound to dataset and field (see :mod:`crypto.envelope`)."""
    id = "encrypt"
    repeatable = False
    Params = EncryptParams
    keyed = True

    @classmethod
    def build(cls, p: EncryptParams, entity: str | None, dataset: str, field: str,
              keys: KeyServices | None) -> Masker:
        assert keys is not None  # keyed: the engine passes its managed keys
        fc, det = keys.field_cipher(p.key_id, p.algorithm), p.deterministic

        def mask(value: Any) -> str:
            if value == "":
                raise Unfit
            return fc.encrypt(dataset, field, value, deterministic=det)
        return mask


class RandomReplaceParams(Params):
    locale: str = "zh_CN"
    seed: int | None = None


FAKERS: dict[str, Callable[[Any], Any]] = {
    "PERSON_NAME": lambda f: f.name(),
    "CN_MOBILE": lambda f: f.phone_number(),
    "CN_RESIDENT_ID": lambda f: f.ssn(),
    "ADDRESS": lambda f: f.address().split(" ")[0],
    "EMAIL_ADDRESS": lambda f: f.email(),
    "DATE_OF_BIRTH": lambda f: f.date_of_birth().isoformat(),
    "CN_BANK_CARD": lambda f: f.credit_card_number(),
    "ORGANIZATION_NAME": lambda f: f.company(),
    "IP_ADDRESS": lambda f: f.ipv4(),
    "MAC_ADDRESS": lambda f: f.mac_address(),
    "CN_LICENSE_PLATE": lambda f: f.license_plate(),
    "GEO_COORDINATE": lambda f: f"{f.longitude():.6f},{f.latitude():.6f}",
    "CN_LANDLINE": lambda f: f"0{f.random_int(10, 999)}-{f.random_int(1000000, 99999999)}",
}


class RandomReplace(Strategy):
    """A fake value of the same entity (Faker, random) — for test data; no entity → fallback."""
    id = "random_replace"
    repeatable = False
    Params = RandomReplaceParams

    @classmethod
    def build(cls, p: RandomReplaceParams, entity: str | None, dataset: str, field: str,
              keys: KeyServices | None) -> Masker:
        from faker import Faker

        faker = Faker(p.locale)
        if p.seed is not None:
            faker.seed_instance(p.seed)
        make = FAKERS.get(entity or "")

        def mask(value: Any) -> Any:
            if make is None or value == "":
                raise Unfit
            return make(faker)
        return mask


STRATEGIES: dict[str, type[Strategy]] = {s.id: s for s in (
    Keep, MaskMiddle, MaskName, MaskAddress, MaskEmail, GeneralizeDate, GeneralizeNumber,
    TruncateGeo, Hash, TokenizeFpe, Encrypt, Redact, RandomReplace)}
