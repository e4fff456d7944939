"""Personal identity documents: resident ID, passport, Hong Kong/Macao permits.

Shapes and validators live in :mod:`classifier.identifiers` (shared with masking and span search).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from classifier.identifiers import documents, resident_id
from classifier.recognizers.base import ShuweiRecognizer


class ResidentIdRecognizer(ShuweiRecognizer):
    """居民身份证号: 18 chars, ISO 7064 MOD 11-2 check char, real birth date, known division code;
    legacy 15 digits."""

    ENTITY = "CN_RESIDENT_ID"
    CORE = resident_id.CORE
    CONTEXT = ("身份证", "身份证号", "公民身份号码", "身份号码", "证件号码", "社会保障号", "社保号",
               "id_card", "idcard", "id_no", "idno", "identity", "citizen_id",
               "sfzh", "sfz", "sfzhm", "gmsfhm", "zjhm", "shbzh")
    MIN_LEN, MAX_LEN = resident_id.MIN_LEN, resident_id.MAX_LEN
    EVIDENCE = "value pattern+checksum"

    def validate(self, text: str) -> bool:
        return resident_id.is_valid(text)

    def validate_many(self, values: pa.Array) -> np.ndarray:
        return resident_id.valid_many(resident_id.compact_many(values))


class PassportRecognizer(ShuweiRecognizer):
    """护照号: PRC (E/G, DE/SE/PE, older 14/15), Hong Kong (K) and Macao (MA) SAR passports."""

    ENTITY = "CN_PASSPORT"
    CORE = documents.PASSPORT_CORE
    CONTEXT = ("护照", "护照号", "护照号码", "passport", "passport_no", "hzh", "hzhm")
    MIN_LEN, MAX_LEN = documents.PASSPORT_LEN
    WEAK = documents.PASSPORT_WEAK


class HkMacaoPermitRecognizer(ShuweiRecognizer):
    """港澳通行证号 (C + 8 digits) and 回乡证 (H/M + 8 or 10 digits)."""

    ENTITY = "CN_HK_MACAO_PERMIT"
    CORE = documents.PERMIT_CORE
    CONTEXT = ("港澳通行证", "往来港澳通行证", "通行证", "通行证号", "回乡证", "permit", "hk_permit",
               "gatxz", "txz", "txzh", "hxz")
    MIN_LEN, MAX_LEN = documents.PERMIT_LEN
