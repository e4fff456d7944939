"""Travel documents: 护照号 and 港澳通行证/回乡证 numbers (letters any case).

No reference library validates these (they carry no check char); the forms are those the
issuing authorities print:
- PRC ordinary passports ``E``/``G`` + 8 digits, ``E`` + letter + 7 digits; diplomatic/service/
  official ``DE``/``SE``/``PE`` + 7 digits; older booklets ``14``/``15`` + 7 digits (digits only, so
  they count as passports only under a passport header: see :data:`PASSPORT_WEAK`);
- Hong Kong SAR passports ``K`` + 8 digits, Macao SAR passports ``MA`` + 7 digits;
- 往来港澳通行证 ``C`` + 8 digits, 回乡证 ``H``/``M`` + 8 or 10 digits.
"""

from __future__ import annotations

import re

from classifier.identifiers.text import clean

_LETTER = "[A-HJ-NP-Za-hj-np-z]"
PASSPORT_CORE = (f"[EeGgKk][0-9]{{8}}|[Ee]{_LETTER}[0-9]{{7}}|[DdSsPp][Ee][0-9]{{7}}|[Mm][Aa][0-9]{{7}}"
                 "|1[45][0-9]{7}")
PASSPORT_WEAK = "^1[45][0-9]{7}$"
PASSPORT_LEN = (9, 9)
PERMIT_CORE = "[Cc][0-9]{8}|[HhMm][0-9]{8}(?:[0-9]{2})?"
PERMIT_LEN = (9, 11)


def compact(text: str) -> str:
    return clean(text).replace(" ", "").upper()


def is_passport(text: str) -> bool:
    return re.fullmatch(PASSPORT_CORE, compact(text)) is not None


def is_permit(text: str) -> bool:
    return re.fullmatch(PERMIT_CORE, compact(text)) is not None


def mask_positions(text: str) -> list[int]:
    return [i for i, ch in enumerate(text) if ch.isalnum()]
