"""The benchmark table: 1,000,000 rows × 20 labelled columns, generated vectorised (numpy) and cached.

Faker at ~20 µs a value would take minutes for 20M cells, so values are composed from the same
building blocks (surnames, regions, allocated prefixes) with numpy; identifiers carry valid check
characters, and most columns are near-unique, so de-duplication earns no unfair advantage.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from classifier.recognizers.health import DIAGNOSES
from classifier.surnames import SINGLE

OUT = Path(__file__).resolve().parent.parent / "out"

# column → label (None = not an entity: decoys and plain data)
LABELS: dict[str, str | None] = {
    "公民身份号码": "CN_RESIDENT_ID", "姓名": "PERSON_NAME", "手机号码": "CN_MOBILE", "电子邮箱": "EMAIL_ADDRESS",
    "户籍地址": "ADDRESS", "出生日期": "DATE_OF_BIRTH", "银行卡号": "CN_BANK_CARD", "车牌号": "CN_LICENSE_PLATE",
    "单位名称": "ORGANIZATION_NAME", "统一社会信用代码": "CN_USCC", "诊断": "MEDICAL_DIAGNOSIS",
    "经度": "GEO_COORDINATE", "纬度": "GEO_COORDINATE", "设备IP": "IP_ADDRESS", "MAC": "MAC_ADDRESS",
    "办公电话": "CN_LANDLINE", "订单号": None, "金额": None, "创建时间": None, "状态": None,
}

_GIVEN = list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红梅鑫斌波宇浩凯健俊帆帅旭宁欣怡婷雪琳晨辉")
_PROVINCES = ["北京市", "上海市", "浙江省杭州市", "广东省深圳市", "四川省成都市", "湖北省武汉市", "江苏省南京市"]
_DISTRICTS = ["西湖区", "朝阳区", "海淀区", "南山区", "武侯区", "江汉区", "鼓楼区", "浦东新区"]
_ROADS = ["文三路", "建国路", "中山路", "人民路", "解放大道", "长江路", "学院路", "科技园路"]
_ORG_HEAD = ["数卫", "华信", "国泰", "长城", "星河", "海纳", "远景", "东方", "天成", "恒通"]
_ORG_MID = ["科技", "信息", "网络", "贸易", "实业", "咨询", "物流", "建设"]
_ORG_TAIL = ["有限公司", "股份有限公司", "集团", "研究院"]
_REGIONS = np.array([110105, 310104, 330106, 440305, 510107, 420102, 320106, 610113])
_PREFIXES = np.array([130, 131, 132, 133, 135, 136, 137, 138, 139, 150, 151, 152, 155, 157, 158, 159,
                      166, 177, 180, 181, 183, 185, 186, 187, 188, 189, 191, 198, 199])
_PLATE = list("京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼")
_PLATE_CHARS = np.frombuffer(b"ABCDEFGHJKLMNPQRSTUVWXYZ0123456789", dtype=np.uint8)
_USCC = np.frombuffer(b"0123456789ABCDEFGHJKLMNPQRTUWXY", dtype=np.uint8)
_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def _strings(mat: np.ndarray) -> np.ndarray:
    """(n, w) uint8 ASCII matrix → array of str."""
    mat = np.ascontiguousarray(mat, dtype=np.uint8)
    return mat.view(f"S{mat.shape[1]}").ravel().astype(str)


def _digits(rng: np.random.Generator, n: int, w: int) -> np.ndarray:
    return rng.integers(0, 10, size=(n, w), dtype=np.int64)


def _pick(rng: np.random.Generator, items: list[str], n: int) -> np.ndarray:
    return np.array(items)[rng.integers(0, len(items), n)]


def _dates(rng: np.random.Generator, n: int, start: str, end: str) -> np.ndarray:
    lo, hi = np.datetime64(start), np.datetime64(end)
    return (lo + rng.integers(0, int((hi - lo).astype(int)), n).astype("timedelta64[D]")).astype(str)


def resident_ids(rng: np.random.Generator, n: int) -> np.ndarray:
    region = _REGIONS[rng.integers(0, len(_REGIONS), n)]
    birth = np.char.replace(_dates(rng, n, "1940-01-01", "2015-12-31"), "-", "")
    seq = rng.integers(0, 1000, n)
    body = np.char.add(np.char.add(region.astype(str), birth), np.char.zfill(seq.astype(str), 3))
    d = np.frombuffer("".join(body).encode(), dtype=np.uint8).reshape(n, 17).astype(np.int64) - 48
    check = np.frombuffer(b"10X98765432", dtype=np.uint8)[(d @ np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])) % 11]
    return _strings(np.concatenate([d + 48, check[:, None]], axis=1))


def luhn_cards(rng: np.random.Generator, n: int) -> np.ndarray:
    d = _digits(rng, n, 19)
    d[:, :6] = [6, 2, 2, 2, 0, 2]
    body = d[:, :18]
    rev = body[:, ::-1].copy()
    dbl = rev[:, 0::2] * 2
    rev[:, 0::2] = dbl - 9 * (dbl > 9)
    d[:, 18] = (10 - rev.sum(axis=1) % 10) % 10
    return _strings(d + 48)


def usccs(rng: np.random.Generator, n: int) -> np.ndarray:
    codes = rng.integers(0, 31, size=(n, 18))
    codes[:, 0], codes[:, 1] = 9, 1
    codes[:, 2:8] = _digits(rng, n, 6)
    total = codes[:, :17] @ np.array([pow(3, i, 31) for i in range(17)])
    codes[:, 17] = (31 - total % 31) % 31
    return _strings(_USCC[codes])


def generate(rows: int, seed: int = 42) -> pa.Table:
    rng = np.random.default_rng(seed)
    n = rows
    surname = _pick(rng, list(SINGLE[:120]), n)
    given = np.char.add(_pick(rng, _GIVEN, n), np.where(rng.random(n) < 0.6, _pick(rng, _GIVEN, n), ""))
    mobile = _PREFIXES[rng.integers(0, len(_PREFIXES), n)].astype(str)
    mobile = np.char.add(mobile, np.char.zfill(rng.integers(0, 10 ** 8, n).astype(str), 8))
    user = _strings(np.frombuffer(b"abcdefghijklmnopqrstuvwxyz", dtype=np.uint8)[rng.integers(0, 26, (n, 6))])
    email = np.char.add(np.char.add(user, rng.integers(1, 9999, n).astype(str)),
                        _pick(rng, ["@example.com", "@163.com", "@qq.com", "@gov.cn"], n))
    address = np.char.add(np.char.add(np.char.add(_pick(rng, _PROVINCES, n), _pick(rng, _DISTRICTS, n)),
                                      _pick(rng, _ROADS, n)), np.char.add(rng.integers(1, 999, n).astype(str), "号"))
    plate_tail = _strings(_PLATE_CHARS[rng.integers(0, len(_PLATE_CHARS), (n, 5))])
    plate = np.char.add(np.char.add(_pick(rng, _PLATE, n), _strings(_PLATE_CHARS[rng.integers(0, 24, (n, 1))])), plate_tail)
    org = np.char.add(np.char.add(_pick(rng, _ORG_HEAD, n), np.char.add(_pick(rng, _DISTRICTS, n), _pick(rng, _ORG_MID, n))),
                      _pick(rng, _ORG_TAIL, n))
    ip = np.char.add(np.char.add(np.char.add(rng.integers(1, 224, n).astype(str), "."),
                                 np.char.add(rng.integers(0, 256, n).astype(str), ".")),
                     np.char.add(np.char.add(rng.integers(0, 256, n).astype(str), "."), rng.integers(1, 255, n).astype(str)))
    hexes = _HEX[rng.integers(0, 16, (n, 12))]
    colon = np.full((n, 1), ord(":"), dtype=np.uint8)
    mac = _strings(np.concatenate([np.concatenate([hexes[:, i:i + 2], colon], axis=1) for i in range(0, 12, 2)], axis=1)[:, :17])
    landline = np.char.add(_pick(rng, ["010-", "021-", "0571-", "020-", "028-"], n),
                           rng.integers(20_000_000, 90_000_000, n).astype(str))  # 8-digit cities
    cols = {
        "公民身份号码": resident_ids(rng, n), "姓名": np.char.add(surname, given), "手机号码": mobile,
        "电子邮箱": email, "户籍地址": address, "出生日期": _dates(rng, n, "1940-01-01", "2015-12-31"),
        "银行卡号": luhn_cards(rng, n), "车牌号": plate, "单位名称": org, "统一社会信用代码": usccs(rng, n),
        "诊断": _pick(rng, list(DIAGNOSES), n), "经度": np.char.mod("%.6f", rng.uniform(98, 122, n)),
        "纬度": np.char.mod("%.6f", rng.uniform(22, 45, n)), "设备IP": ip, "MAC": mac, "办公电话": landline,
        "订单号": (13_900_000_000 + np.arange(n)).astype(str), "金额": np.char.mod("%.2f", rng.uniform(1, 99999, n)),
        "创建时间": _dates(rng, n, "2020-01-01", "2025-12-31"), "状态": _pick(rng, ["已审核", "待审核", "已退回", "办结"], n),
    }
    return pa.table({k: pa.array(v.tolist(), type=pa.string()) for k, v in cols.items()})


def ensure_csv(rows: int) -> Path:
    """The cached CSV of ``rows`` rows under bench/out/ (gitignored), generated in chunks."""
    path = OUT / f"classify_{rows}x20_v2.csv"  # v2: landlines of their city's length
    if path.is_file():
        return path
    OUT.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    chunk = 200_000
    with pacsv.CSVWriter(tmp, generate(min(rows, 10), 0).schema) as writer:
        for i, start in enumerate(range(0, rows, chunk)):
            writer.write_table(generate(min(chunk, rows - start), seed=1000 + i))
    tmp.rename(path)
    return path
