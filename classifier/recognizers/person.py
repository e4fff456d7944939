"""Basic personal data: names and birth dates."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from classifier.dates import parse_date
from classifier.recognizers.base import HAN, ShuweiRecognizer, real_dates
from classifier.surnames import COMPOUND, SINGLE

# A value ending like this is a place, an organisation or a disease, not a given name.
_NOT_GIVEN_NAME = "市县区省路街局院病症炎司村镇乡厂店部处站所队"


class PersonNameRecognizer(ShuweiRecognizer):
    """姓名: surname (百家姓, compound surnames) + 1–2 given chars, minority ·-names, Latin names."""

    ENTITY = "PERSON_NAME"
    CORE = (f"(?:{'|'.join(COMPOUND)}|[{SINGLE}])[{HAN}]{{1,2}}"
            f"|[{HAN}]{{2,6}}·[{HAN}]{{2,8}}"
            "|[A-Z][a-z]{1,15}(?: [A-Z][a-z]{1,15}){1,2}")
    CONTEXT = ("姓名", "名字", "真实姓名", "联系人", "申请人", "患者姓名", "法定代表人", "户主", "持卡人",
               "name", "full_name", "fullname", "real_name", "contact", "xm", "xingming", "lxr", "hz")
    MIN_LEN, MAX_LEN = 2, 33
    ASCII_ONLY = False
    EVIDENCE = "value pattern+surname list"
    REJECT = f"[{_NOT_GIVEN_NAME}]$"


class DateOfBirthRecognizer(ShuweiRecognizer):
    """出生日期: a real past date; the engine requires birth context (name or an ID column's date)."""

    ENTITY = "DATE_OF_BIRTH"
    CORE = ("(?:19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])"
            "|(?:19|20)[0-9]{2}[-/.](?:0?[1-9]|1[0-2])[-/.](?:0?[1-9]|[12][0-9]|3[01])(?:[ T]00:00(?::00)?)?"
            "|(?:19|20)[0-9]{2}年(?:0?[1-9]|1[0-2])月(?:0?[1-9]|[12][0-9]|3[01])日?")
    CONTEXT = ("出生", "出生日期", "出生年月", "出生年月日", "生日", "birth", "birthday", "birth_date",
               "birthdate", "date_of_birth", "dob", "csrq", "csny", "sr")
    MIN_LEN, MAX_LEN = 8, 19
    ASCII_ONLY = False
    NEEDS_CONTEXT = True

    def validate(self, text: str) -> bool:
        date = parse_date(text)
        return date is not None and dt.date(1900, 1, 1) <= date <= dt.date.today()

    def validate_many(self, values: pa.Array) -> np.ndarray:
        if len(values) == 0:
            return np.zeros(0, dtype=bool)
        parts = pc.extract_regex(values, "^(?P<y>[0-9]{4})[-/.年]?(?P<m>[0-9]{1,2})[-/.月]?(?P<d>[0-9]{1,2})")
        y, m, d = (pc.fill_null(pc.cast(parts.field(k), pa.int64()), 0).to_numpy(zero_copy_only=False)
                   for k in "ymd")
        return real_dates(y, m, d)
