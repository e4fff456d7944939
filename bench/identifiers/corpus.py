"""A messy-format corpus: columns written the way exports really write identifiers, classified
column by column through the full engine (normalisation, recognizers, decision)."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa

from bench.identifiers import generate
from bench.identifiers.oracle import ric_ok
from classifier.classify import Classifier
from classifier.columns import ColumnTally
from classifier.identifiers import bank_card, resident_id, uscc
from classifier.policy import Policy
from stdnum import luhn

ROWS = 200
TARGET = 0.98
Column = tuple[str, str | None, list[str], str]  # header, expected entity, values, class


def _valid(cases: list[generate.Case]) -> list[str]:
    return [w for k, w, _ in cases if k == "valid"]


def _ids(rng: random.Random, n: int) -> list[str]:
    vals = _valid(generate.resident_ids(rng, 2 * n))[:n]
    old = "440524188001010014"
    return [old if i % 20 == 0 else v for i, v in enumerate(vals)]


def _scientific(rng: random.Random, n: int) -> list[str]:
    return [f"{int(resident_id.compact(v)[:6]) / 100000:.5f}E+17" for v in _ids(rng, n)]


def _bad_division_ids(rng: random.Random, n: int) -> list[str]:
    out: list[str] = []
    while len(out) < n:
        b = f"{rng.choice([99, 92, 93, 94, 95, 96, 97, 98])}{rng.randrange(10000):04d}{generate._date(rng)}" \
            f"{rng.randrange(1000):03d}"
        out.append(b + resident_id.check_char(b))
    return out


def _unallocated_usccs(rng: random.Random, n: int) -> list[str]:
    codes = generate._codes()
    pairs = [f"{a}{t}" for a in "0123456789" for t in "0123456789" if f"{a}{t}" not in generate._PAIRS]
    out = []
    for _ in range(n):
        body = generate._uscc17(rng, codes, rng.choice(pairs))
        out.append(body + uscc.check_char(body))
    return out


def _mobiles(rng: random.Random, n: int) -> list[str]:
    vals = _valid(generate.mobiles(rng, 2 * n))
    return [rng.choice([f"0086{v[-11:]}", f"(+86){v[-11:]}", f"0086 {v[-11:]}", v]) for v in vals[:n]]


def _landlines(rng: random.Random, n: int) -> list[str]:
    return _valid(generate.landlines(rng, 2 * n))[:n]


def _bad_landlines(rng: random.Random, n: int) -> list[str]:
    return [f"0{rng.choice(['302', '303', '304', '400', '401', '600', '700', '800'])}-"
            f"{rng.randrange(2000000, 9999999)}" for _ in range(n)]


def _usccs(rng: random.Random, n: int) -> list[str]:
    return _valid(generate.usccs(rng, 2 * n))[:n]


def _passports(rng: random.Random, n: int) -> list[str]:
    forms = [lambda: f"e{rng.randrange(10 ** 8):08d}", lambda: f"E{rng.randrange(10 ** 8):08d}",
             lambda: f"K{rng.randrange(10 ** 8):08d}", lambda: f"MA{rng.randrange(10 ** 7):07d}",
             lambda: f"g{rng.randrange(10 ** 8):08d}", lambda: f"Ea{rng.randrange(10 ** 7):07d}"]
    return [rng.choice(forms)() for _ in range(n)]


def _old_passports(rng: random.Random, n: int) -> list[str]:
    return [f"1{rng.choice('45')}{rng.randrange(10 ** 7):07d}" for _ in range(n)]


def _permits(rng: random.Random, n: int) -> list[str]:
    return [f"{rng.choice('cCHhm')}{rng.randrange(10 ** 8):08d}" for _ in range(n)]


def _plates(rng: random.Random, n: int) -> list[str]:
    chars = "ABCDEFGHJKLMNPQRSTUVWXYZ"
    forms = [lambda: f"京{rng.choice(chars)}{rng.choice('ABCDEFGHJK')}{rng.choice(chars + '0123456789')}"
                     f"{rng.randrange(10000):04d}",
             lambda: f"粤{rng.choice(chars)}{rng.randrange(100000):05d}{rng.choice('ABCDEFGHJK')}",
             lambda: f"沪{rng.choice(chars)}{rng.randrange(10000):04d}领",
             lambda: f"浙{rng.choice(chars)}{rng.randrange(100000):05d}"]
    return [rng.choice(forms)() for _ in range(n)]


def _card(rng: random.Random, prefix: str, length: int) -> str:
    body = prefix + "".join(rng.choice("0123456789") for _ in range(length - len(prefix) - 1))
    return body + luhn.calc_check_digit(body)


def _cards(rng: random.Random, n: int) -> list[str]:
    return [_card(rng, "370247", 15) if i % 4 == 0 else _card(rng, "6222", 19 if i % 3 else 16)
            for i in range(n)]


def _card_like_uscc(rng: random.Random) -> str:
    """An 18-digit UnionPay card number that also passes the USCC check (1 in ~31 do)."""
    while True:
        c = _card(rng, "62", 18)
        if uscc.is_valid(c) and bank_card.is_valid(c):
            return c


MAKERS: list[tuple[str, str | None, Callable[[random.Random, int], list[str]], str]] = [
    ("手机号", "CN_MOBILE", _mobiles, "mobile 0086/(+86)"),
    ("col_m", "CN_MOBILE", _mobiles, "mobile 0086/(+86), neutral header"),
    ("办公电话", "CN_LANDLINE", _landlines, "landline, every written form"),
    ("col_l", "CN_LANDLINE", _landlines, "landline, neutral header"),
    ("col_bl", None, _bad_landlines, "decoy: landline with no such area code"),
    ("统一社会信用代码", "CN_USCC", _usccs, "USCC spaced/dashed/lower case"),
    ("col_u", "CN_USCC", _usccs, "USCC, neutral header"),
    ("col_bu", None, _unallocated_usccs, "decoy: USCC with unallocated authority/type"),
    ("身份证号", "CN_RESIDENT_ID", _ids, "resident ID spaced/apostrophe/lower x/pre-1900"),
    ("col_i", "CN_RESIDENT_ID", _ids, "resident ID, neutral header"),
    ("col_bi", None, _bad_division_ids, "decoy: resident ID with no such division"),
    ("身份证号码", "CN_RESIDENT_ID", _scientific, "resident ID in Excel scientific notation (lost)"),
    ("col_s", None, _scientific, "Excel scientific notation, neutral header"),
    ("护照号", "CN_PASSPORT", _passports, "passports lower case, HK K / Macao MA"),
    ("col_p", "CN_PASSPORT", _passports, "passports, neutral header"),
    ("护照号码", "CN_PASSPORT", _old_passports, "older 14/15 passports under a passport header"),
    ("col_op", None, _old_passports, "9-digit numbers, neutral header (not passports)"),
    ("通行证号", "CN_HK_MACAO_PERMIT", _permits, "permits lower case"),
    ("车牌号", "CN_LICENSE_PLATE", _plates, "plates: new energy, consulate"),
    ("col_pl", "CN_LICENSE_PLATE", _plates, "plates, neutral header"),
    ("卡号", "CN_BANK_CARD", _cards, "bank cards incl. 15-digit Amex"),
    ("col_c", "CN_BANK_CARD", _cards, "bank cards, neutral header"),
]


def _classify(clf: Classifier, columns: dict[str, list[str]]) -> dict[str, Any]:
    names = list(columns)
    tallies = {n: ColumnTally() for n in names}
    for n in names:
        clf.scanner.update(tallies[n], pa.array(columns[n], type=pa.string()))
    rows = len(next(iter(columns.values())))
    graded = clf.grade("corpus", clf.column_inputs(names, tallies, columns, rows), rows)
    return {c["name"]: c for c in graded["columns"]}


def report(rng: random.Random, repeats: int = 3) -> float:
    clf = Classifier(Policy.load(Path("policies")))
    results: list[tuple[str, bool, str]] = []
    for _ in range(repeats):
        for header, expected, make, klass in MAKERS:
            col = _classify(clf, {header: make(rng, ROWS)})[header]
            ok = col["entity"] == expected
            if klass.startswith(("resident ID in Excel", "Excel scientific")):
                ok &= any("scientific notation" in r for r in col["reasons"])
            results.append((klass, ok, f"{col['entity']} ({'; '.join(col['reasons'])[:120]})"))
        card = _card_like_uscc(rng)
        col = _classify(clf, {"number": [card]})["number"]
        results.append(("one card number that also passes the USCC check, neutral header",
                        col["entity"] == "CN_BANK_CARD", str(col["entity"])))
        col = _classify(clf, {"单位名称": ["杭州数卫科技有限公司"], "number": [card]})["number"]
        results.append(("the same value next to an organisation name", col["entity"] == "CN_USCC",
                        str(col["entity"])))
    good = sum(ok for _, ok, _ in results)
    share = good / len(results)
    print(f"\nMessy-format corpus: {good}/{len(results)} columns right = {share:.1%} "
          f"({ROWS} rows each; target ≥ {TARGET:.0%}) {'PASS' if share >= TARGET else 'MISS'}")
    for klass, ok, got in results:
        if not ok:
            print(f"  wrong: {klass}: got {got}")
    return share
