"""Financial and organisation identifiers with check characters: bank card (Luhn), USCC (GB 32100).

Shapes and validators live in :mod:`classifier.identifiers` (shared with masking and span search).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from classifier.identifiers import bank_card, uscc
from classifier.recognizers.base import ShuweiRecognizer


class BankCardRecognizer(ShuweiRecognizer):
    """银行卡号: 16–19 digits (15 on American Express ranges), spaces or dashes allowed, Luhn."""

    ENTITY = "CN_BANK_CARD"
    CORE = bank_card.CORE
    CONTEXT = ("银行卡", "银行卡号", "卡号", "银行账号", "账号", "银行账户", "借记卡", "信用卡",
               "bank_card", "card_no", "cardno", "account_no", "yhkh", "yhzh", "kh")
    MIN_LEN, MAX_LEN = bank_card.MIN_LEN, bank_card.MAX_LEN
    EVIDENCE = "value pattern+checksum"

    def validate(self, text: str) -> bool:
        return bank_card.is_valid(text)

    def validate_many(self, values: pa.Array) -> np.ndarray:
        return bank_card.valid_many(bank_card.compact_many(values))


class UsccRecognizer(ShuweiRecognizer):
    """统一社会信用代码: 18 chars of 0-9A-HJ-NPQRTUWXY, allocated authority/type, GB 32100 check char."""

    ENTITY = "CN_USCC"
    CORE = uscc.CORE
    CONTEXT = ("统一社会信用代码", "社会信用代码", "信用代码", "uscc", "credit_code", "tyshxydm", "xydm",
               "shxydm")
    MIN_LEN, MAX_LEN = uscc.MIN_LEN, uscc.MAX_LEN
    EVIDENCE = "value pattern+checksum"

    def validate(self, text: str) -> bool:
        return uscc.is_valid(text)

    def validate_many(self, values: pa.Array) -> np.ndarray:
        return uscc.valid_many(uscc.compact_many(values))
