"""A labelled corpus of government free text and nested 办件 records (seeded, repeatable).

Identifiers are made valid by libraries, not by Shuwei's validators: resident IDs get python-stdnum's
check char over stdnum's division codes, bank cards stdnum's Luhn digit, mobiles must pass
phonenumbers; names come from Faker zh_CN. Decoys are the look-alikes of the issue: order numbers,
文号, the 12345 hotline, amounts, dates without birth context, IDs with a wrong check char.
Each text carries its labels: (entity, start, end) of every sensitive span.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import phonenumbers
from faker import Faker
from stdnum import luhn
from stdnum.cn import ric
from stdnum.iso7064 import mod_11_2

IDENTIFIERS = ("CN_RESIDENT_ID", "CN_MOBILE", "CN_BANK_CARD", "CN_PASSPORT", "CN_HK_MACAO_PERMIT")
STREET_WORDS = "建国 人民 解放 中山 文三 学院 幸福 和平 新华 长江 黄河 光明 胜利 青年 朝阳 东风 迎宾 滨江".split()


@dataclass
class Text:
    parts: list[tuple[str, str | None]] = field(default_factory=list)  # (text, entity or None)

    def add(self, text: str, entity: str | None = None) -> Text:
        self.parts.append((text, entity))
        return self

    @property
    def text(self) -> str:
        return "".join(p for p, _ in self.parts)

    @property
    def labels(self) -> list[tuple[str, int, int]]:
        out, pos = [], 0
        for p, e in self.parts:
            if e is not None:
                out.append((e, pos, pos + len(p)))
            pos += len(p)
        return out


def _divisions() -> list[tuple[str, str]]:
    """(6-digit code, 省+县 name) from python-stdnum's division data."""
    text = resources.files("stdnum").joinpath("cn/loc.dat").read_text(encoding="utf-8")
    out, prov, pname = [], "", ""
    for line in text.splitlines():
        if m := re.match(r'^(\d\d) province="([^"]+)"', line):
            prov, pname = m[1], m[2]
        elif m := re.match(r'^  (\d{4}) county="(?:\[(\d{4})-\])?([^"]+)"', line):
            name = m[3]
            if m[2] and name[-1] in "区县" and name != "市辖区" and not name.startswith(pname):
                out.append((prov + m[1], pname + name))
    return out


class Corpus:
    def __init__(self, seed: int = 20241201) -> None:
        self.rng = random.Random(seed)
        self.faker = Faker("zh_CN")
        self.faker.seed_instance(seed)
        self.divisions = _divisions()

    # -- values ------------------------------------------------------------------------------
    def name(self) -> str:
        return self.faker.name()

    def resident_id(self, valid: bool = True) -> str:
        """Valid by python-stdnum (ISO 7064 MOD 11-2 check char, division in use at the birth date)."""
        while True:
            code = self.rng.choice(self.divisions)[0]
            birth = f"{self.rng.randint(1940, 2010)}{self.rng.randint(1, 12):02d}{self.rng.randint(1, 28):02d}"
            body = f"{code}{birth}{self.rng.randint(0, 999):03d}"
            check = mod_11_2.calc_check_digit(body)
            if ric.is_valid(body + check):
                break
        if not valid:
            check = self.rng.choice([c for c in "0123456789X" if c != check])
        return body + check

    def mobile(self) -> str:
        while True:
            number = f"1{self.rng.choice('3456789')}{self.rng.randint(0, 999_999_999):09d}"
            parsed = phonenumbers.parse("+86" + number)
            if phonenumbers.number_type(parsed) == phonenumbers.PhoneNumberType.MOBILE:
                return number

    def bank_card(self) -> str:
        body = "62" + "".join(self.rng.choice("0123456789") for _ in range(self.rng.choice((14, 16))))
        return body + luhn.calc_check_digit(body)

    def passport(self) -> str:
        return self.rng.choice("EG") + f"{self.rng.randint(0, 99_999_999):08d}"

    def permit(self) -> str:
        return "C" + f"{self.rng.randint(0, 99_999_999):08d}"

    def address(self) -> str:
        place = self.rng.choice(self.divisions)[1]
        street = self.rng.choice(STREET_WORDS) + self.rng.choice(("路", "街", "大道"))
        unit = self.rng.choice(("", f"{self.rng.randint(1, 30)}栋{self.rng.randint(101, 2505)}室"))
        return f"{place}{street}{self.rng.randint(1, 999)}号{unit}"

    def decoy(self) -> str:
        r = self.rng
        return r.choice((
            f"订单号{r.randint(2020, 2025)}{r.randint(10**11, 10**12 - 1)}",
            f"青政办函〔{r.randint(2018, 2025)}〕{r.randint(1, 300)}号",
            "已转12345热线", f"金额{r.randint(1000, 99_999_999)}.00元",
            f"于{r.randint(2020, 2025)}年{r.randint(1, 12)}月{r.randint(1, 28)}日受理",
            f"受理号{r.randint(10**17, 10**18 - 1)}", f"编号{self.resident_id(valid=False)}",
            f"工单号{r.randint(10**10, 2 * 10**10 - 1)}",
        ))

    # -- texts -------------------------------------------------------------------------------
    def ticket(self) -> Text:
        """诉求内容 of a 12345 hotline ticket."""
        r, t = self.rng, Text()
        t.add(r.choice(("市民", "来电人", "投诉人"))).add(self.name(), "PERSON_NAME")
        t.add(r.choice(("来电反映", "反映", "来电称")))
        if r.random() < 0.7:
            t.add(self.address(), "ADDRESS")
        t.add(r.choice(("小区噪音扰民", "路面积水严重", "物业不作为", "施工扰民")) + "，")
        if r.random() < 0.3:
            t.add(self.decoy() + "，")
        t.add(r.choice(("联系电话", "手机", "电话："))).add(self.mobile(), "CN_MOBILE")
        if r.random() < 0.2:
            t.add("，身份证号").add(self.resident_id(), "CN_RESIDENT_ID")
        return t.add("。")

    def remark(self) -> Text:
        """备注 / 办理意见: sometimes an identifier, often only look-alikes."""
        r, t = self.rng, Text()
        kind = r.random()
        if kind < 0.15:
            t.add("身份证号").add(self.resident_id(), "CN_RESIDENT_ID").add(f"于{r.randint(2019, 2025)}年办理")
        elif kind < 0.25:
            t.add("退款至银行卡").add(self.bank_card(), "CN_BANK_CARD")
        elif kind < 0.32:
            t.add("持护照").add(self.passport(), "CN_PASSPORT").add("办理")
        elif kind < 0.38:
            t.add("港澳通行证").add(self.permit(), "CN_HK_MACAO_PERMIT")
        elif kind < 0.48:
            t.add("联系人").add(self.name(), "PERSON_NAME").add("，家住").add(self.address(), "ADDRESS")
        else:
            t.add(r.choice(("材料齐全，", "按期办结，", "已电话回访，", "")))
        return t.add(self.decoy())

    def banjian(self, i: int) -> tuple[dict[str, Any], dict[str, list[str]]]:
        """A nested 办件 record and, per path, the raw sensitive values it holds."""
        r = self.rng
        name, id_no, mobile, tel = self.name(), self.resident_id(), self.mobile(), self.mobile()
        materials = [{"name": "身份证复印件", "number": id_no}] + (
            [{"name": "护照", "number": self.passport()}] if r.random() < 0.3 else [])
        note = self.remark()
        rec = {"case_no": f"BJ{2024000000 + i}", "item": r.choice(("居住证办理", "户籍迁入", "社保转移")),
               "applicant": {"name": name, "id_no": id_no, "mobile": mobile},
               "materials": materials,
               "payload": json.dumps({"contact": {"tel": tel}, "channel": "网上办"}, ensure_ascii=False),
               "remark": note.text}
        secrets = {"applicant.id_no": [id_no], "applicant.mobile": [mobile], "payload.contact.tel": [tel],
                   "materials[].number": [m["number"] for m in materials],
                   "remark": [note.text[s:e] for ent, s, e in note.labels if ent in IDENTIFIERS]}
        return rec, secrets



def bench_draws(n: int, cut: int | None = None
                ) -> tuple[list[Text], list[tuple[dict[str, Any], dict[str, list[str]]]], list[str]]:
    """What ``bench.classify.text`` measures, drawn in its order from one seeded corpus (so
    ``bench/classify/textscan.py`` times the very same texts): 3,000 tickets + 3,000 remarks
    (labelled), 3,000 nested 办件 records, then ``n`` speed texts — half remarks, half tickets,
    each cut to ``cut`` characters (None: whole)."""
    corpus = Corpus()
    texts = [corpus.ticket() for _ in range(3000)] + [corpus.remark() for _ in range(3000)]
    records = [corpus.banjian(i) for i in range(3000)]
    short = [corpus.remark().text[:cut] for _ in range(n // 2)] + \
            [corpus.ticket().text[:cut] for _ in range(n - n // 2)]
    return texts, records, short

# Expected column grades of the corpus datasets (what a reviewer would file them under).
EXPECTED_BANJIAN = {"case_no": "L1", "item": "L1", "applicant": "L4", "applicant.name": "L3",
                    "applicant.id_no": "L4", "applicant.mobile": "L3", "materials": "L4",
                    "materials[].name": "L1", "materials[].number": "L4", "payload": "L3",
                    "payload.contact": "L3", "payload.contact.tel": "L3", "payload.channel": "L1",
                    "remark": "L4"}
