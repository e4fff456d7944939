"""Shapes a value must have before an entity-aware strategy touches it. A value that does not
fit (an 8-digit "mobile", a 17-char ID) takes the safe fallback instead of a partial mask that
could leak it. These are fitness checks for masking, not detection (that is the classifier's)."""

from __future__ import annotations

import re

ENTITY_SHAPES: dict[str, re.Pattern[str]] = {
    "CN_MOBILE": re.compile(r"(?:\+?86[\s-]?)?1[3-9]\d(?:[\s-]?\d{4}){2}"),
    "CN_RESIDENT_ID": re.compile(r"\d{17}[\dXxＸｘ]|\d{15}"),
    "CN_BANK_CARD": re.compile(r"(?:\d[\s-]?){15,18}\d"),
    "CN_PASSPORT": re.compile(r"(?:[EG]\d{8}|E[A-Za-z]\d{7}|[DSP]E\d{7})"),
    "CN_HK_MACAO_PERMIT": re.compile(r"[CHM]\d{8}(?:\d{2})?"),
    "CN_LANDLINE": re.compile(r"\(?0\d{2,3}\)?[\s-]?\d{7,8}"),
    "EMAIL_ADDRESS": re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+"),
    "CN_LICENSE_PLATE": re.compile(r"[\u4e00-\u9fff][A-Za-z]·?[A-Za-z0-9]{5,6}"),
    "CN_USCC": re.compile(r"[0-9A-HJ-NPQRTUWXY]{18}"),
}


# Full-width ASCII (Ｕ+FF01..FF5E) → ASCII, for shape checks only; the value itself keeps its form.
_HALF = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)}


def fits(entity: str | None, value: str) -> bool:
    shape = ENTITY_SHAPES.get(entity or "")
    if shape is None:
        return True
    if not value.isascii():
        value = value.translate(_HALF)
    return shape.fullmatch(value) is not None
