"""统一社会信用代码 (GB 32100-2015): 18 chars of ``0-9A-HJ-NPQRTUWXY``, mod-31 check char.

Reference: ``stdnum.cn.uscc``. Deliberate differences: the registration-authority and entity-type
pair (chars 1–2) must be one GB 32100 and its amendments allocate (stricter: stdnum takes any two
digits, so the 71 of 100 digit pairs no authority issues pass there); the authorities ``A``
(军队), ``N`` (农业农村: 农村集体经济组织) and ``Y`` are accepted (looser: stdnum wants chars 1–8 to
be digits and rejects these real codes). Written forms: spaces or dashes between the groups, lower
case, full-width chars.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from classifier.identifiers.text import clean

if TYPE_CHECKING:
    import pyarrow as pa

CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_C = "[0-9A-HJ-NPQRTUWXYa-hj-npqrtuwxy]"
_SEP = "[ -]?"
CORE = f"{_C}{_C}{_SEP}[0-9]{{6}}{_SEP}{_C}{{10}}"
MIN_LEN, MAX_LEN = 18, 22
WEIGHTS = np.array([pow(3, i, 31) for i in range(17)], dtype=np.int32)
# GB 32100-2015 table 1 and its amendments: 登记管理部门 code → 机构类别 codes.
ALLOCATED = {
    "1": "1239",   # 机构编制: 机关, 事业单位, 中央编办管理的群众团体, 其他
    "2": "19",     # 外交
    "3": "123459",  # 司法行政: 律师执业机构, 公证处, 基层法律服务所, 司法鉴定机构, 仲裁委员会
    "4": "19",     # 文化
    "5": "1239",   # 民政: 社会团体, 民办非企业单位, 基金会
    "6": "129",    # 旅游
    "7": "129",    # 宗教
    "8": "19",     # 工会
    "9": "123",    # 市场监管(工商): 企业, 个体工商户, 农民专业合作社
    "A": "19",     # 中央军委改革和编制办公室
    "N": "1239",   # 农业农村: 农村集体经济组织
    "Y": "1",      # 其他
}
_VALUE = np.full(256, -1, dtype=np.int32)  # char code → value; lower case reads as upper
for _i, _c in enumerate(CHARS):
    _VALUE[ord(_c)] = _VALUE[ord(_c.lower())] = _i
_PAIR_OK = np.zeros((31, 31), dtype=bool)
for _a, _types in ALLOCATED.items():
    for _t in _types:
        _PAIR_OK[CHARS.index(_a), CHARS.index(_t)] = True


def compact(text: str) -> str:
    return clean(text).replace(" ", "").replace("-", "").upper()


def compact_many(values: pa.Array) -> pa.Array:
    """Vectorised :func:`compact` (case is left: :func:`valid_many` folds it)."""
    import pyarrow.compute as pc

    if not pc.any(pc.greater(pc.utf8_length(values), 18)).as_py():
        return values
    return pc.replace_substring(pc.replace_substring(values, " ", ""), "-", "")


def check_char(code17: str) -> str:
    total = sum(CHARS.index(c) * int(w) for c, w in zip(code17, WEIGHTS))
    return CHARS[(31 - total % 31) % 31]


def is_valid(text: str) -> bool:
    import pyarrow as pa

    return bool(valid_many(pa.array([compact(text)]))[0])


def valid_many(values: pa.Array) -> np.ndarray:
    """Vectorised validity of compacted codes: charset, digits 3–8, allocated pair, check char."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from classifier.identifiers.matrix import fixed_width

    ok: np.ndarray = pc.utf8_length(values).to_numpy(zero_copy_only=False) == 18
    idx = np.flatnonzero(ok)
    if idx.size:
        codes = _VALUE[fixed_width(values.take(pa.array(idx)), 18)]
        check = (31 - (np.maximum(codes[:, :17], 0) @ WEIGHTS) % 31) % 31
        good = (codes >= 0).all(axis=1) & (codes[:, 2:8] < 10).all(axis=1) & (check == codes[:, 17])
        ok[idx] = good & _PAIR_OK[np.maximum(codes[:, 0], 0), np.maximum(codes[:, 1], 0)]
    return ok
