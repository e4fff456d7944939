"""The reference verdicts (python-stdnum, phonenumbers) and Shuwei's, value by value."""

from __future__ import annotations

import phonenumbers
import pyarrow as pa
from stdnum.cn import ric, uscc

from classifier.identifiers.text import clean_many
from classifier.recognizers import all_recognizers


def ric_ok(number: str) -> bool:
    try:
        return ric.is_valid(number)
    except (KeyError, ValueError):  # stdnum 2.2 raises KeyError for a province without that county
        return False


def uscc_ok(number: str) -> bool:
    return uscc.is_valid(number)


def _phone(text: str, kind: int) -> bool:
    try:
        n = phonenumbers.parse(text, "CN")
    except phonenumbers.NumberParseException:
        return False
    return n.country_code == 86 and phonenumbers.is_valid_number(n) and phonenumbers.number_type(n) == kind


def mobile_ok(text: str) -> bool:
    return _phone(text, phonenumbers.PhoneNumberType.MOBILE)


def landline_ok(text: str) -> bool:
    return _phone(text, phonenumbers.PhoneNumberType.FIXED_LINE)


REFERENCE = {"CN_RESIDENT_ID": ric_ok, "CN_USCC": uscc_ok, "CN_MOBILE": mobile_ok, "CN_LANDLINE": landline_ok}
_RECOGNIZERS = {r.ENTITY: r for r in all_recognizers()}


def shuwei(entity: str, values: list[str]) -> list[bool]:
    """The column engine's verdict: shared normalisation, RE2 fullmatch, vectorised validator."""
    rec = _RECOGNIZERS[entity]
    arr = clean_many(pa.array(values, type=pa.string()))
    ok = rec.fullmatch(arr)
    if ok.any():
        ok[ok] = rec.validate_many(arr.filter(pa.array(ok)))
    return [bool(v) for v in ok]
