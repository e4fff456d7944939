"""The written shape of each identifier entity, shared by classification and masking.

Masking asks two things of a value before an entity-aware strategy touches it: does it have the
entity's shape (:func:`fits`; a value that does not takes the safe fallback instead of a partial
mask that could leak it), and which of its characters are the identifier (:func:`mask_positions`;
separators, a country code and Excel's apostrophe stay where they were, so the masked value keeps
the input's format). Both come from the same ``CORE`` patterns the recognizers match.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from classifier.identifiers import (bank_card, documents, email, landline, mobile, plate,
                                    resident_id, uscc)
from classifier.identifiers.text import clean


@dataclass(frozen=True)
class Shape:
    core: str
    positions: Callable[[str], list[int]]


def _alnum(text: str) -> list[int]:
    return [i for i, ch in enumerate(text) if ch.isalnum()]


SHAPES: dict[str, Shape] = {
    "CN_RESIDENT_ID": Shape(resident_id.CORE, _alnum),
    "CN_USCC": Shape(uscc.CORE, _alnum),
    "CN_BANK_CARD": Shape(bank_card.CORE, bank_card.mask_positions),
    "CN_MOBILE": Shape(mobile.CORE, mobile.mask_positions),
    "CN_LANDLINE": Shape(landline.CORE, landline.mask_positions),
    "CN_PASSPORT": Shape(documents.PASSPORT_CORE, documents.mask_positions),
    "CN_HK_MACAO_PERMIT": Shape(documents.PERMIT_CORE, documents.mask_positions),
    "CN_LICENSE_PLATE": Shape(plate.CORE, plate.mask_positions),
    "EMAIL_ADDRESS": Shape(email.CORE, email.mask_positions),
}


# entity → compiled ``CORE`` (Python ``re``), in the order a whole value is tried against them.
ENTITY_SHAPES: dict[str, re.Pattern[str]] = {e: re.compile(s.core) for e, s in SHAPES.items()}


def fits(entity: str | None, value: str) -> bool:
    """Does ``value`` (after the shared normalisation) have the entity's shape? No shape: True."""
    pattern = ENTITY_SHAPES.get(entity or "")
    return pattern is None or pattern.fullmatch(clean(value)) is not None


def mask_positions(entity: str | None, value: str) -> list[int]:
    """Indices of ``value``'s identifier characters; every index for entities without a shape."""
    shape = SHAPES.get(entity or "")
    return list(range(len(value))) if shape is None else shape.positions(value)
