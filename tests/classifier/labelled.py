"""Labelled synthetic columns (Faker zh_CN): every entity clean, messy and headerless, plus decoys.

Each column is (name, values, expected entity or None). The messy forms are the ones the contract
lists: +86, spaces and dashes, full-width digits, lowercase x, blanks.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from faker import Faker

from classifier import samples

FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
Column = tuple[str, list[str | None], str | None]


def _blanks(values: list[str], rng: random.Random, share: float = 0.1) -> list[str | None]:
    return [None if rng.random() < share / 2 else ("" if rng.random() < share / 2 else v) for v in values]


def _spaced_mobile(v: str, rng: random.Random) -> str:
    form = rng.randrange(4)
    if form == 0:
        return f"+86 {v[:3]} {v[3:7]} {v[7:]}"
    if form == 1:
        return f"{v[:3]}-{v[3:7]}-{v[7:]}"
    if form == 2:
        return v.translate(FULL_WIDTH)
    return "86" + v


def build(seed: int, n: int = 400) -> list[Column]:
    fake = Faker("zh_CN")
    fake.seed_instance(seed)
    rng = random.Random(seed)

    def many(make: Callable[[], str]) -> list[str]:
        return [make() for _ in range(n)]

    ids = many(fake.ssn)
    mobiles = many(fake.phone_number)
    cards = many(lambda: samples.bank_card(rng))
    cols: list[Column] = [
        # clean, with a helpful header
        ("公民身份号码", ids, "CN_RESIDENT_ID"),
        ("passport_no", many(lambda: samples.passport(rng)), "CN_PASSPORT"),
        ("往来港澳通行证", many(lambda: samples.hk_permit(rng)), "CN_HK_MACAO_PERMIT"),
        ("yhkh", cards, "CN_BANK_CARD"),
        ("jbzd", many(lambda: samples.diagnosis(rng)), "MEDICAL_DIAGNOSIS"),
        ("经纬度", many(lambda: f"{samples.lon(rng)},{samples.lat(rng)}"), "GEO_COORDINATE"),
        ("xm", many(fake.name), "PERSON_NAME"),
        ("lxdh", mobiles, "CN_MOBILE"),
        ("家庭住址", many(fake.address), "ADDRESS"),
        ("email", many(fake.email), "EMAIL_ADDRESS"),
        ("csrq", many(lambda: fake.date_of_birth().isoformat()), "DATE_OF_BIRTH"),
        ("车牌号", many(fake.license_plate), "CN_LICENSE_PLATE"),
        ("办公电话", many(lambda: samples.landline(rng)), "CN_LANDLINE"),
        ("src_ip", many(lambda: fake.ipv4() if rng.random() < 0.7 else fake.ipv6()), "IP_ADDRESS"),
        ("mac", many(fake.mac_address), "MAC_ADDRESS"),
        ("tyshxydm", many(lambda: samples.uscc(rng)), "CN_USCC"),
        ("dwmc", many(fake.company), "ORGANIZATION_NAME"),
        # messy values under less helpful names
        ("证件", _blanks([v.lower() if rng.random() < 0.5 else f" {v} " for v in ids], rng), "CN_RESIDENT_ID"),
        ("联系方式", _blanks([_spaced_mobile(v, rng) for v in mobiles], rng), "CN_MOBILE"),
        ("账户", _blanks([" ".join(c[i:i + 4] for i in range(0, len(c), 4)) for c in cards], rng),
         "CN_BANK_CARD"),
        ("生日", _blanks(many(lambda: fake.date_of_birth().strftime("%Y年%m月%d日")), rng), "DATE_OF_BIRTH"),
        ("plate", _blanks([p.replace("-", "·") for p in many(fake.license_plate)], rng), "CN_LICENSE_PLATE"),
        ("lng", many(lambda: samples.lon(rng)), "GEO_COORDINATE"),
        ("lat", many(lambda: samples.lat(rng)), "GEO_COORDINATE"),
        # headerless: judged on values alone
        ("column_31", many(fake.ssn), "CN_RESIDENT_ID"),
        ("column_32", many(fake.phone_number), "CN_MOBILE"),
        ("column_33", many(fake.email), "EMAIL_ADDRESS"),
        ("column_34", many(lambda: samples.uscc(rng)), "CN_USCC"),
        ("column_35", many(fake.name), "PERSON_NAME"),
        ("column_36", many(fake.company), "ORGANIZATION_NAME"),
        ("column_37", many(fake.mac_address), "MAC_ADDRESS"),
        # decoys: look like an entity, are not
        ("serial_no", many(lambda: samples.wrong_check_id(fake)), None),
        ("order_no", [str(13900000000 + seed * 10_000 + i) for i in range(n)], None),
        ("created_at", many(lambda: fake.date_this_decade().isoformat()), None),
        ("column_41", many(lambda: fake.date_between("-60y", "today").isoformat()), None),
        ("txn_id", many(lambda: str(rng.randrange(10 ** 17, 10 ** 18))), None),
        ("amount", many(lambda: f"{rng.uniform(1, 99999):.2f}"), None),
        ("quantity", many(lambda: str(rng.randint(1, 500))), None),
        ("gender", many(lambda: rng.choice("男女")), None),
        ("status", many(lambda: rng.choice(["已审核", "待审核", "已退回", "办结"])), None),
        ("remark", many(lambda: fake.sentence()), None),
        ("city", many(fake.city_name), None),
        ("job", many(fake.job), None),
        ("version", many(lambda: f"{rng.randint(1, 9)}.{rng.randint(0, 30)}.{rng.randint(0, 99)}"), None),
        ("sku", many(lambda: "SKU" + str(rng.randrange(10 ** 8, 10 ** 9))), None),
    ]
    return cols
