"""机动车号牌 (GA 36-2018): province char + issuing-authority letter + serial.

- ordinary: 5 chars of ``A-HJ-NP-Z0-9`` (no I/O), the last may be 挂 学 警 港 澳 领;
- new energy (8 chars): small cars ``[DABCEFGHJK]`` + 1 char + 4 digits (``京AD12345``,
  ``京AA92035``), large vehicles 5 digits + ``[DABCEFGHJK]`` (``辽J49448C``);
- embassy plates start with 使, consulate ones end with 领 (``沪A1234领``).
A ``·``, ``•``, dash or space may follow the authority letter. No reference library exists.
"""

from __future__ import annotations

import re

from classifier.identifiers.text import clean

PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼使领"
_CHARS = "A-HJ-NP-Z0-9"
_ENERGY = "A-HJK"
CORE = (f"[{PROVINCES}][A-HJ-NP-Z][·•\\- ]?"
        f"(?:[{_ENERGY}][{_CHARS}][0-9]{{4}}|[0-9]{{5}}[{_ENERGY}]|[{_CHARS}]{{4}}[{_CHARS}挂学警港澳领])")
MIN_LEN, MAX_LEN = 7, 10


def compact(text: str) -> str:
    return re.sub("[·•\\- ]", "", clean(text)).upper()


def is_valid(text: str) -> bool:
    return re.fullmatch(CORE, compact(text)) is not None


def mask_positions(text: str) -> list[int]:
    return [i for i, ch in enumerate(text) if ch not in "·•- "]
