"""Synthetic exchange data (Faker, zh_CN): 10-field person records and contract audit events."""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

from faker import Faker

FIELDS = ("姓名", "公民身份号码", "联系电话", "地址", "电子邮箱", "出生日期", "银行卡号", "单位名称", "IP地址", "年龄")


def person_records(n: int, seed: int = 7) -> list[dict[str, Any]]:
    fake = Faker("zh_CN")
    fake.seed_instance(seed)
    out = []
    for _ in range(n):
        birth = fake.date_of_birth(minimum_age=18, maximum_age=90)
        out.append({"姓名": fake.name(), "公民身份号码": fake.ssn(), "联系电话": fake.phone_number(),
                    "地址": fake.address(), "电子邮箱": fake.email(), "出生日期": birth.isoformat(),
                    "银行卡号": fake.credit_card_number(), "单位名称": fake.company(), "IP地址": fake.ipv4(),
                    "年龄": datetime.now().year - birth.year})
    return out


def audit_events(n: int, rng: random.Random) -> list[dict[str, Any]]:
    base = datetime.now(timezone(timedelta(hours=8)))
    actions = ("query", "download", "api_call", "login", "export")
    return [{"ts": (base - timedelta(seconds=rng.randint(0, 36_000))).isoformat(timespec="seconds"),
             "event_id": f"bench-{uuid.uuid4().hex}", "source": "exchange-gateway",
             "user": f"u{rng.randint(1000, 1999)}", "role": "analyst", "org": "市卫健委",
             "src_ip": f"10.0.{rng.randint(0, 255)}.{rng.randint(1, 254)}", "action": rng.choice(actions),
             "dataset": "pop_basic", "fields": ["姓名", "联系电话"], "rows": rng.randint(1, 50),
             "bytes": rng.randint(100, 10_000), "result": "success"} for _ in range(n)]
