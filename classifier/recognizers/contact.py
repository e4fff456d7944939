"""Contact details: mobile and landline numbers, e-mail addresses."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from classifier.identifiers import email, landline, mobile
from classifier.recognizers.base import ShuweiRecognizer


class MobileRecognizer(ShuweiRecognizer):
    """手机号码: 11 digits on a prefix libphonenumber calls mobile; +86/0086/(+86), spaces, dashes."""

    ENTITY = "CN_MOBILE"
    CORE = mobile.CORE
    CONTEXT = ("手机", "手机号", "手机号码", "移动电话", "联系电话", "联系方式", "电话", "电话号码",
               "mobile", "phone", "cellphone", "mobile_no", "tel",
               "sjh", "sjhm", "lxdh", "lxfs", "dh", "yddh")
    MIN_LEN, MAX_LEN = mobile.MIN_LEN, mobile.MAX_LEN
    EVIDENCE = "value pattern+allocated prefix"

    def validate(self, text: str) -> bool:
        return mobile.is_valid(text)

    def validate_many(self, values: pa.Array) -> np.ndarray:
        return mobile.valid_many(mobile.compact_many(values))


class LandlineRecognizer(ShuweiRecognizer):
    """固定电话: an existing area code and a local number of that city's length (national or
    international form, any grouping), optional extension."""

    ENTITY = "CN_LANDLINE"
    CORE = landline.CORE
    CONTEXT = ("固定电话", "座机", "固话", "办公电话", "单位电话", "电话", "联系电话", "传真",
               "landline", "telephone", "tel", "office_phone", "fax", "gddh", "zj", "bgdh")
    MIN_LEN, MAX_LEN = landline.MIN_LEN, landline.MAX_LEN
    EVIDENCE = "value pattern+area code"

    def validate(self, text: str) -> bool:
        return landline.is_valid(text)

    def validate_many(self, values: pa.Array) -> np.ndarray:
        return landline.valid_many(landline.compact_many(values))


class EmailRecognizer(ShuweiRecognizer):
    """电子邮箱: the common RFC 5322 form local@domain.tld."""

    ENTITY = "EMAIL_ADDRESS"
    CORE = email.CORE
    CONTEXT = ("邮箱", "电子邮箱", "电子邮件", "邮件", "email", "e_mail", "mail", "yx", "dzyx")
    MIN_LEN, MAX_LEN = email.MIN_LEN, email.MAX_LEN
    REJECT = email.REJECT
