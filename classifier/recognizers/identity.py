"""Personal identity documents: resident ID, passport, Hong Kong/Macao permits."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from classifier.recognizers.base import ShuweiRecognizer, fixed_width, real_dates

_ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
_ID_CHECK = np.frombuffer(b"10X98765432", dtype=np.uint8)


class ResidentIdRecognizer(ShuweiRecognizer):
    """居民身份证号: 18 chars, ISO 7064 MOD 11-2 check char and a real birth date; legacy 15 digits."""

    ENTITY = "CN_RESIDENT_ID"
    CORE = ("[1-9][0-9]{5}(?:18|19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])[0-9]{3}[0-9Xx]"
            "|[1-9][0-9]{7}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])[0-9]{3}")
    CONTEXT = ("身份证", "身份证号", "公民身份号码", "身份号码", "证件号码", "社会保障号", "社保号",
               "id_card", "idcard", "id_no", "idno", "identity", "citizen_id",
               "sfzh", "sfz", "sfzhm", "gmsfhm", "zjhm", "shbzh")
    MIN_LEN, MAX_LEN = 15, 18
    EVIDENCE = "value pattern+checksum"

    def validate(self, text: str) -> bool:
        return bool(self.validate_many(pa.array([text]))[0])

    def validate_many(self, values: pa.Array) -> np.ndarray:
        values = pc.utf8_upper(values)
        lengths = pc.utf8_length(values).to_numpy(zero_copy_only=False)
        ok = np.zeros(len(values), dtype=bool)
        long_idx = np.flatnonzero(lengths == 18)
        if long_idx.size:
            m = fixed_width(values.take(pa.array(long_idx)), 18)
            digits = m[:, :17].astype(np.int64) - 48
            check = _ID_CHECK[(digits @ _ID_WEIGHTS) % 11]
            date = digits[:, 6:14]
            year = date[:, 0] * 1000 + date[:, 1] * 100 + date[:, 2] * 10 + date[:, 3]
            ok[long_idx] = (check == m[:, 17]) & real_dates(
                year, date[:, 4] * 10 + date[:, 5], date[:, 6] * 10 + date[:, 7])
        short_idx = np.flatnonzero(lengths == 15)
        if short_idx.size:
            d = fixed_width(values.take(pa.array(short_idx)), 15).astype(np.int64) - 48
            year = 1900 + d[:, 6] * 10 + d[:, 7]
            ok[short_idx] = real_dates(year, d[:, 8] * 10 + d[:, 9], d[:, 10] * 10 + d[:, 11])
        return ok


class PassportRecognizer(ShuweiRecognizer):
    """护照号: E/G + 8 digits, E + letter + 7 digits, DE/SE/PE + 7 digits."""

    ENTITY = "CN_PASSPORT"
    CORE = "[EG][0-9]{8}|E[A-HJ-NP-Z][0-9]{7}|[DSP]E[0-9]{7}"
    CONTEXT = ("护照", "护照号", "护照号码", "passport", "passport_no", "hzh", "hzhm")
    MIN_LEN, MAX_LEN = 9, 9


class HkMacaoPermitRecognizer(ShuweiRecognizer):
    """港澳通行证号 (C + 8 digits) and 回乡证 (H/M + 8 or 10 digits)."""

    ENTITY = "CN_HK_MACAO_PERMIT"
    CORE = "C[0-9]{8}|[HM][0-9]{8}(?:[0-9]{2})?"
    CONTEXT = ("港澳通行证", "往来港澳通行证", "通行证", "通行证号", "回乡证", "permit", "hk_permit",
               "gatxz", "txz", "txzh", "hxz")
    MIN_LEN, MAX_LEN = 9, 11
