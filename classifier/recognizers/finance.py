"""Financial and organisation identifiers with check characters: bank card (Luhn), USCC (GB 32100)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from classifier.recognizers.base import ShuweiRecognizer, fixed_width


def luhn_ok(digits: np.ndarray) -> np.ndarray:
    """Luhn over an (n, width) matrix of digit values (right-most digit is the check digit)."""
    rev = digits[:, ::-1].copy()
    doubled = rev[:, 1::2] * 2
    rev[:, 1::2] = doubled - 9 * (doubled > 9)
    ok: np.ndarray = rev.sum(axis=1) % 10 == 0
    return ok


class BankCardRecognizer(ShuweiRecognizer):
    """银行卡号: 16–19 digits (spaces or dashes allowed between), Luhn check."""

    ENTITY = "CN_BANK_CARD"
    CORE = "[0-9](?:[ -]?[0-9]){15,18}"
    CONTEXT = ("银行卡", "银行卡号", "卡号", "银行账号", "账号", "银行账户", "借记卡", "信用卡",
               "bank_card", "card_no", "cardno", "account_no", "yhkh", "yhzh", "kh")
    MIN_LEN, MAX_LEN = 16, 25
    EVIDENCE = "value pattern+checksum"

    def validate(self, text: str) -> bool:
        return bool(self.validate_many(pa.array([text]))[0])

    def validate_many(self, values: pa.Array) -> np.ndarray:
        digits = pc.replace_substring_regex(values, "[ -]", "")
        lengths = pc.utf8_length(digits).to_numpy(zero_copy_only=False)
        ok = np.zeros(len(values), dtype=bool)
        for width in np.unique(lengths):
            idx = np.flatnonzero(lengths == width)
            if 16 <= width <= 19:
                m = fixed_width(digits.take(pa.array(idx)), int(width)).astype(np.int64) - 48
                ok[idx] = luhn_ok(m)
        return ok


_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_VALUE = np.full(256, -1, dtype=np.int64)
for _i, _c in enumerate(_USCC_CHARS):
    _USCC_VALUE[ord(_c)] = _i
_USCC_WEIGHTS = np.array([pow(3, i, 31) for i in range(17)])


class UsccRecognizer(ShuweiRecognizer):
    """统一社会信用代码: 18 chars of 0-9A-HJ-NPQRTUWXY, GB 32100-2015 check char (mod 31)."""

    ENTITY = "CN_USCC"
    CORE = "[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}"
    CONTEXT = ("统一社会信用代码", "社会信用代码", "信用代码", "uscc", "credit_code", "tyshxydm", "xydm",
               "shxydm")
    MIN_LEN, MAX_LEN = 18, 18
    EVIDENCE = "value pattern+checksum"

    def validate(self, text: str) -> bool:
        return bool(self.validate_many(pa.array([text]))[0])

    def validate_many(self, values: pa.Array) -> np.ndarray:
        if len(values) == 0:
            return np.zeros(0, dtype=bool)
        codes = _USCC_VALUE[fixed_width(values, 18)]
        check = (31 - (np.maximum(codes[:, :17], 0) @ _USCC_WEIGHTS) % 31) % 31
        ok: np.ndarray = (codes >= 0).all(axis=1) & (check == codes[:, 17])
        return ok
