"""Contact details: mobile and landline numbers, e-mail addresses."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from classifier.recognizers.base import ShuweiRecognizer, fixed_width

# Allocated mobile prefixes (MIIT numbering plan, as listed in field notes).
_MOBILE_PREFIXES = (
    [*range(130, 140), 145, 147, 149, 150, 151, 152, 153, *range(155, 160), 162, 165, 166, 167,
     170, 171, 172, 173, 175, 176, 177, 178, *range(180, 190), 190, 191, 192, 193, *range(195, 200)]
)
_ALLOCATED = np.zeros(1000, dtype=bool)
_ALLOCATED[_MOBILE_PREFIXES] = True


class MobileRecognizer(ShuweiRecognizer):
    """手机号码: 11 digits on an allocated 1[3-9]x prefix; +86/86, spaces, dashes allowed."""

    ENTITY = "CN_MOBILE"
    CORE = "(?:\\+?86[ -]?)?1[3-9][0-9](?:[ -]?[0-9]){8}"
    CONTEXT = ("手机", "手机号", "手机号码", "移动电话", "联系电话", "联系方式", "电话", "电话号码",
               "mobile", "phone", "cellphone", "mobile_no", "tel",
               "sjh", "sjhm", "lxdh", "lxfs", "dh", "yddh")
    MIN_LEN, MAX_LEN = 11, 20
    EVIDENCE = "value pattern+allocated prefix"

    def validate(self, text: str) -> bool:
        return bool(self.validate_many(pa.array([text]))[0])

    def validate_many(self, values: pa.Array) -> np.ndarray:
        digits = pc.replace_substring_regex(values, "[^0-9]", "")
        # keep the last 11 digits: drops a leading 86 country code
        tail = pc.utf8_slice_codeunits(digits, -11)
        ok: np.ndarray = pc.utf8_length(tail).to_numpy(zero_copy_only=False) == 11
        m = fixed_width(tail.filter(pa.array(ok)), 11).astype(np.int64) - 48
        prefix = m[:, 0] * 100 + m[:, 1] * 10 + m[:, 2]
        ok[ok] = _ALLOCATED[prefix]
        return ok


class LandlineRecognizer(ShuweiRecognizer):
    """固定电话: area code 0xx/0xxx with a dash or in brackets, 7–8 digits, optional extension."""

    ENTITY = "CN_LANDLINE"
    CORE = "(?:\\(0[1-9][0-9]{1,2}\\)|（0[1-9][0-9]{1,2}）|0[1-9][0-9]{1,2}-) ?[2-9][0-9]{6,7}(?:-[0-9]{1,4})?"
    CONTEXT = ("固定电话", "座机", "固话", "办公电话", "单位电话", "电话", "联系电话", "传真",
               "landline", "telephone", "tel", "office_phone", "fax", "gddh", "zj", "bgdh")
    MIN_LEN, MAX_LEN = 10, 20


class EmailRecognizer(ShuweiRecognizer):
    """电子邮箱: the common RFC 5322 form local@domain.tld."""

    ENTITY = "EMAIL_ADDRESS"
    CORE = "[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\\.[A-Za-z0-9-]+)*\\.[A-Za-z]{2,}"
    CONTEXT = ("邮箱", "电子邮箱", "电子邮件", "邮件", "email", "e_mail", "mail", "yx", "dzyx")
    MIN_LEN, MAX_LEN = 5, 254
    REJECT = "^\\.|\\.\\.|^[^@]{65,}@"  # leading dot, double dot, local part over 64 chars
