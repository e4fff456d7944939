"""Deterministic synthetic datasets (Faker ``zh_CN``) for the demo, tests and benchmarks.

Faker covers names, resident IDs, mobiles, addresses, companies, e-mail, plates, IPs and MACs; the
identifiers it lacks (USCC, passports, permits, landlines, coordinates, diagnoses, UnionPay cards)
are generated here with their real check rules so the data is valid.
"""

from __future__ import annotations

import csv
import json
import random
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from faker import Faker
from openpyxl.worksheet.worksheet import Worksheet

from classifier.recognizers.health import DIAGNOSES

USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_REGIONS = ("110105", "310104", "330106", "440305", "510107", "420102", "320106", "610113")


def uscc(rng: random.Random) -> str:
    body = rng.choice("159") + rng.choice("123") + rng.choice(_REGIONS) + "".join(
        rng.choice(USCC_CHARS) for _ in range(9))
    total = sum(USCC_CHARS.index(c) * pow(3, i, 31) for i, c in enumerate(body))
    return body + USCC_CHARS[(31 - total % 31) % 31]


def luhn_complete(prefix: str, length: int, rng: random.Random) -> str:
    digits = prefix + "".join(rng.choice("0123456789") for _ in range(length - len(prefix) - 1))
    total = 0
    for i, d in enumerate(reversed(digits)):
        v = int(d) * (2 if i % 2 == 0 else 1)
        total += v - 9 if v > 9 else v
    return digits + str((10 - total % 10) % 10)


def bank_card(rng: random.Random) -> str:
    return luhn_complete(rng.choice(("622202", "621700", "622848", "623668")), rng.choice((16, 19)), rng)


def passport(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.6:
        return "E" + "".join(rng.choice("0123456789") for _ in range(8))
    if kind < 0.8:
        return "E" + rng.choice("ABCDEFGHJK") + "".join(rng.choice("0123456789") for _ in range(7))
    return "G" + "".join(rng.choice("0123456789") for _ in range(8))


def hk_permit(rng: random.Random) -> str:
    if rng.random() < 0.7:
        return "C" + "".join(rng.choice("0123456789") for _ in range(8))
    return rng.choice("HM") + "".join(rng.choice("0123456789") for _ in range(rng.choice((8, 10))))


def landline(rng: random.Random) -> str:
    area = rng.choice(("010", "021", "0571", "020", "028", "0755"))
    # these cities all dial 8-digit local numbers (phonenumbers' metadata; 7 digits would not validate)
    number = rng.choice("2345678") + "".join(rng.choice("0123456789") for _ in range(7))
    return f"{area}-{number}" if rng.random() < 0.7 else f"({area}){number}"


def lon(rng: random.Random) -> str:
    return f"{rng.uniform(98.0, 122.0):.6f}"


def lat(rng: random.Random) -> str:
    return f"{rng.uniform(22.0, 45.0):.6f}"


def diagnosis(rng: random.Random) -> str:
    return rng.choice(DIAGNOSES)


def wrong_check_id(fake: Faker) -> str:
    """An 18-char ID-shaped serial whose check char is wrong (a decoy)."""
    good = fake.ssn()
    alt = "0123456789X".replace(good[-1], "")
    return good[:-1] + alt[int(good[-2]) % len(alt)]


Row = dict[str, Any]


def _rows(n: int, seed: int, make: Callable[[Faker, random.Random, int], Row]) -> list[Row]:
    fake = Faker("zh_CN")
    fake.seed_instance(seed)
    rng = random.Random(seed)
    return [make(fake, rng, i) for i in range(n)]


def pop_basic(fake: Faker, rng: random.Random, i: int) -> Row:
    return {"姓名": fake.name(), "公民身份号码": fake.ssn(), "性别": rng.choice("男女"),
            "出生日期": fake.date_of_birth(minimum_age=1, maximum_age=90).isoformat(),
            "手机号码": fake.phone_number(), "户籍地址": fake.address(), "登记流水号": str(20240000001 + i),
            "登记日期": fake.date_this_decade().isoformat()}


def medical_visits(fake: Faker, rng: random.Random, i: int) -> Row:
    return {"patient_name": fake.name(), "sfzh": fake.ssn(), "diagnosis": diagnosis(rng),
            "visit_date": fake.date_this_year().isoformat(), "hospital": fake.city_name() + "市人民医院",
            "card_no": bank_card(rng), "fee": round(rng.uniform(20, 5000), 2)}


def enterprise_registry(fake: Faker, rng: random.Random, i: int) -> Row:
    return {"企业名称": fake.company(), "统一社会信用代码": uscc(rng), "法定代表人": fake.name(),
            "办公电话": landline(rng), "注册资本(万元)": rng.randint(10, 100000), "行业": fake.job()}


def vehicle_tracks(fake: Faker, rng: random.Random, i: int) -> Row:
    return {"车牌号": fake.license_plate(), "经度": lon(rng), "纬度": lat(rng),
            "采集时间": fake.date_time_this_year().isoformat(sep=" "), "设备MAC": fake.mac_address(),
            "设备IP": fake.ipv4(), "车速": rng.randint(0, 120)}


def border_travellers(fake: Faker, rng: random.Random, i: int) -> Row:
    return {"id": i + 1, "xm": fake.name(), "passport_no": passport(rng), "gatxz": hk_permit(rng),
            "email": fake.email(), "lxdh": "+86 " + fake.phone_number(), "batch": f"B{i // 100:04d}"}


def banjian(fake: Faker, rng: random.Random, i: int) -> Row:
    """A nested 办件 record: applicant object, materials array, JSON in a string, a free-text remark."""
    name, id_no, mobile = fake.name(), fake.ssn(), fake.phone_number()
    remark = rng.choice((f"申请人{name}来电催办，联系电话{mobile}", f"身份证号{id_no}于{2020 + i % 5}年办理",
                         f"青政办函〔{2020 + i % 5}〕{i % 90 + 1}号转办，已转12345热线", "材料齐全，按期办结"))
    return {"case_no": f"BJ{2024000000 + i}", "item": rng.choice(("居住证办理", "户籍迁入", "社保转移")),
            "applicant": {"name": name, "id_no": id_no, "mobile": mobile},
            "materials": [{"name": "身份证复印件", "number": id_no}],
            "payload": json.dumps({"contact": {"tel": fake.phone_number()}}, ensure_ascii=False),
            "remark": remark}


def write_samples(out_dir: Path, rows: int = 2000, seed: int = 7) -> list[Path]:
    """Write the demo datasets (CSV, JSON Lines, xlsx, Parquet, SQLite, nested JSON Lines) and
    return their sources."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from openpyxl import Workbook

    out_dir.mkdir(parents=True, exist_ok=True)
    out: list[Path] = []

    data = _rows(rows, seed, pop_basic)
    path = out_dir / "pop_basic.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(data[0]))
        w.writeheader()
        w.writerows(data)
    out.append(path)

    path = out_dir / "medical_visits.jsonl"
    with open(path, "w", encoding="utf-8") as fh:
        for r in _rows(rows, seed + 1, medical_visits):
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    out.append(path)

    path = out_dir / "enterprise_registry.xlsx"
    wb = Workbook()
    ws = wb.active
    assert isinstance(ws, Worksheet)  # a new workbook opens on one worksheet
    data = _rows(rows, seed + 2, enterprise_registry)
    ws.append(list(data[0]))
    for r in data:
        ws.append(list(r.values()))
    wb.save(path)
    out.append(path)

    path = out_dir / "vehicle_tracks.parquet"
    pq.write_table(pa.Table.from_pylist(_rows(rows, seed + 3, vehicle_tracks)), path)
    out.append(path)

    path = out_dir / "border.db"
    path.unlink(missing_ok=True)
    data = _rows(rows, seed + 4, border_travellers)
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE travellers (id INTEGER PRIMARY KEY, xm TEXT, passport_no TEXT, "
                   "gatxz TEXT, email TEXT, lxdh TEXT, batch TEXT)")
        db.executemany("INSERT INTO travellers VALUES (?,?,?,?,?,?,?)", [tuple(r.values()) for r in data])
    db.close()
    out.append(path)

    path = out_dir / "banjian.jsonl"
    with open(path, "w", encoding="utf-8") as fh:
        for r in _rows(rows, seed + 5, banjian):
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    out.append(path)
    return out
