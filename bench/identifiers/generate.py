"""Seeded generators: values the references call valid, near misses, and Shuwei's documented
differences, each in the written forms people use."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Mapping
from typing import TypeVar

import numpy as np

from bench.identifiers.oracle import landline_ok, mobile_ok, ric_ok
from classifier.identifiers import resident_id, uscc
from classifier.identifiers.divisions import last_year_table

Case = tuple[str, str, str]  # (class, value as written, bare value for the reference)
DIGITS = "0123456789"


T = TypeVar("T")


def _codes() -> list[int]:
    return [int(c) for c in np.flatnonzero(last_year_table() > 0)]


def _date(rng: random.Random, lo: int = 1930, hi: int = 2020) -> str:
    start = dt.date(lo, 1, 1).toordinal()
    return dt.date.fromordinal(rng.randrange(start, dt.date(hi, 12, 31).toordinal())).strftime("%Y%m%d")


def _id17(rng: random.Random, codes: list[int]) -> str:
    return f"{rng.choice(codes):06d}{_date(rng)}{rng.randrange(1000):03d}"


def _swap(rng: random.Random, s: str, keep_last: bool = False) -> str:
    i = rng.randrange(len(s) - (2 if keep_last else 1))
    if s[i] == s[i + 1]:
        return s[:i] + str((int(s[i]) + 1) % 10) + s[i + 1:] if s[i].isdigit() else s
    return s[:i] + s[i + 1] + s[i] + s[i + 2:]


def _sub(rng: random.Random, s: str, alphabet: str = DIGITS) -> str:
    i = rng.randrange(len(s))
    return s[:i] + rng.choice([c for c in alphabet if c != s[i]]) + s[i + 1:]


def _id_form(rng: random.Random, n: str) -> str:
    form = rng.randrange(5)
    if form == 1:
        return f"{n[:6]} {n[6:14]} {n[14:]}"
    if form == 2:
        return f"'{n}"
    if form == 3:
        return n.lower()
    return n



def _near_misses(out: list[Case], n: int, makers: Mapping[str, Callable[[], T]],
                 form: Callable[[T], str] = str) -> list[Case]:
    """Fill ``out`` up to ``n`` with each near-miss class in turn, written by ``form``."""
    names = list(makers)
    while len(out) < n:
        name = names[len(out) % len(names)]
        v = form(makers[name]())
        out.append((name, v, v))
    return out

def resident_ids(rng: random.Random, n: int) -> list[Case]:
    codes = _codes()
    out: list[Case] = []
    while len(out) < n // 2:
        body = _id17(rng, codes)
        number = body + resident_id.check_char(body)
        if ric_ok(number):
            out.append(("valid", _id_form(rng, number), number))
    makers: dict[str, Callable[[], str]] = {
        "wrong check char": lambda: (lambda b: b + rng.choice([c for c in "0123456789X"
                                                                if c != resident_id.check_char(b)]))(_id17(rng, codes)),
        "one digit mistyped": lambda: (lambda v: _sub(rng, v[:17]) + v[17])(
            (lambda b: b + resident_id.check_char(b))(_id17(rng, codes))),
        "adjacent digits swapped": lambda: (lambda v: _swap(rng, v, keep_last=True))(
            (lambda b: b + resident_id.check_char(b))(_id17(rng, codes))),
        "no such date (check recomputed)": lambda: (lambda b: b + resident_id.check_char(b))(
            f"{rng.choice(codes):06d}{rng.randrange(1930, 2020)}"
            f"{rng.choice(['0230', '0231', '0431', '0631', '1301', '0001', '0100', '0132', '1131'])}"
            f"{rng.randrange(1000):03d}"),
        "no such division (check recomputed)": lambda: (lambda b: b + resident_id.check_char(b))(
            f"{rng.choice([990426, 920302, 100000, 119999, 830000, 660101])}{_date(rng)}"
            f"{rng.randrange(1000):03d}"),
        "17 or 19 chars": lambda: (lambda v: v[:17] if rng.random() < 0.5 else v + "1")(
            (lambda b: b + resident_id.check_char(b))(_id17(rng, codes))),
    }
    return _near_misses(out, n, makers)


def id_differences(rng: random.Random, n: int) -> list[Case]:
    """Documented differences: division code in use only after the birth year; future births."""
    codes, last = _codes(), last_year_table()
    out: list[Case] = []
    while len(out) < n:
        body = _id17(rng, codes)
        number = body + resident_id.check_char(body)
        if not ric_ok(number) and last[int(number[:6])] >= int(number[6:10]):
            out.append(("division code in use only after the birth year", number, number))
    for _ in range(n // 10):
        b = f"{rng.choice(codes):06d}{rng.randrange(2030, 2090)}0101{rng.randrange(1000):03d}"
        out.append(("birth date in the future", b + resident_id.check_char(b), b + resident_id.check_char(b)))
    return out


_PAIRS = [a + t for a, ts in uscc.ALLOCATED.items() if a.isdigit() for t in ts]


def _uscc17(rng: random.Random, codes: list[int], pair: str | None = None) -> str:
    org = "".join(rng.choice(uscc.CHARS) for _ in range(9))
    return f"{pair or rng.choice(_PAIRS)}{rng.choice(codes):06d}{org}"


def _uscc_form(rng: random.Random, c: str) -> str:
    form = rng.randrange(4)
    return (f"{c[:2]} {c[2:8]} {c[8:]}" if form == 1 else f"{c[:2]}-{c[2:8]}-{c[8:]}" if form == 2
            else c.lower() if form == 3 else c)


def usccs(rng: random.Random, n: int) -> list[Case]:
    codes = _codes()
    out: list[Case] = []
    for _ in range(n // 2):
        body = _uscc17(rng, codes)
        c = body + uscc.check_char(body)
        out.append(("valid", _uscc_form(rng, c), c))
    full = lambda: (lambda b: b + uscc.check_char(b))(_uscc17(rng, codes))  # noqa: E731
    makers: dict[str, Callable[[], str]] = {
        "wrong check char": lambda: (lambda b: b + rng.choice([c for c in uscc.CHARS if c != uscc.check_char(b)]))(
            _uscc17(rng, codes)),
        "one char mistyped": lambda: (lambda v: v[:2] + _sub(rng, v[2:8]) + v[8:] if rng.random() < 0.5
                                      else v[:8] + _sub(rng, v[8:], uscc.CHARS))(full()),
        "adjacent chars swapped": lambda: _swap(rng, full()),
        "I/O/S/V/Z inside": lambda: (lambda v: v[:12] + rng.choice("IOSVZ") + v[13:])(full()),
        "17 or 19 chars": lambda: (lambda v: v[:17] if rng.random() < 0.5 else v + "1")(full()),
    }
    return _near_misses(out, n, makers)


def uscc_differences(rng: random.Random, n: int) -> list[Case]:
    codes = _codes()
    out: list[Case] = []
    unallocated = [f"{a}{t}" for a in DIGITS for t in DIGITS if f"{a}{t}" not in _PAIRS]
    for i in range(n):
        if i % 2:
            body = _uscc17(rng, codes, rng.choice(unallocated))
            out.append(("unallocated authority/type (Shuwei rejects)", body + uscc.check_char(body), ""))
        else:
            body = _uscc17(rng, codes, rng.choice(["A1", "N2", "N3", "Y1"]))
            out.append(("authority A/N/Y (Shuwei accepts)", body + uscc.check_char(body), ""))
    return [(k, v, v) for k, v, _ in out]


def _mobile_form(rng: random.Random, m: str) -> str:
    return rng.choice([m, f"{m[:3]} {m[3:7]} {m[7:]}", f"{m[:3]}-{m[3:7]}-{m[7:]}", f"+86{m}", f"+86 {m}",
                       f"0086{m}", f"0086 {m[:3]} {m[3:7]} {m[7:]}", f"(+86){m}", f"86{m}", f"+86-{m}"])


def mobiles(rng: random.Random, n: int) -> list[Case]:
    out: list[Case] = []
    while len(out) < n // 2:
        m = "1" + str(rng.randrange(3, 10)) + "".join(rng.choice(DIGITS) for _ in range(9))
        if mobile_ok(m):
            f = _mobile_form(rng, m)
            out.append(("valid", f, f))
    makers: dict[str, Callable[[], str]] = {
        "unallocated prefix": lambda: rng.choice(["140", "141", "143", "144", "146", "154", "160", "163", "164",
                                                  "168", "169", "174", "179", "194", "100", "110"])
        + "".join(rng.choice(DIGITS) for _ in range(8)),
        "10 or 12 digits": lambda: "13" + "".join(rng.choice(DIGITS) for _ in range(rng.choice([8, 10]))),
        "starts 10-12": lambda: "1" + rng.choice("012") + "".join(rng.choice(DIGITS) for _ in range(9)),
        "random 11 digits": lambda: "1" + "".join(rng.choice(DIGITS) for _ in range(10)),
    }
    return _near_misses(out, n, makers, lambda m: _mobile_form(rng, m))


def _landline_form(rng: random.Random, area: str, local: str) -> str:
    a = "0" + area
    h, t = local[:-4], local[-4:]
    return rng.choice([f"{a}-{local}", f"({a}){local}", f"{a} {local}", f"{a}{local}", f"{a} {h} {t}",
                       f"+86 {area} {h} {t}", f"+86{area}{local}", f"+86-{area}-{local}", f"0086 {area} {local}",
                       f"(+86){area}{local}"])


def _area(rng: random.Random) -> str:
    return rng.choice(["10", *(f"2{d}" for d in DIGITS)]) if rng.random() < 0.3 else str(rng.randrange(300, 1000))


def landlines(rng: random.Random, n: int) -> list[Case]:
    out: list[Case] = []
    while len(out) < n // 2:
        area, local = _area(rng), str(rng.randrange(2, 10)) + "".join(rng.choice(DIGITS) for _ in range(rng.choice([6, 7])))
        if landline_ok("0" + area + local):
            f = _landline_form(rng, area, local)
            out.append(("valid", f, f))
    makers: dict[str, Callable[[], tuple[str, str]]] = {
        "no such area code": lambda: (rng.choice(["302", "303", "304", "306", "400", "401", "402", "500", "600",
                                                  "601", "700", "800", "801", "900", "960"]),
                                      str(rng.randrange(2, 10)) + "".join(rng.choice(DIGITS) for _ in range(7))),
        "wrong local length": lambda: (lambda a: (a, str(rng.randrange(2, 9)) + "".join(
            rng.choice(DIGITS) for _ in range(rng.choice([4, 5, 8]) if len(a) == 3 else rng.choice([4, 5, 6, 8]))))
        )(_area(rng)),
        "random digits": lambda: (_area(rng), str(rng.randrange(2, 10))
                                  + "".join(rng.choice(DIGITS) for _ in range(rng.choice([6, 7])))),
    }
    return _near_misses(out, n, makers, lambda parts: _landline_form(rng, *parts))


def landline_differences(rng: random.Random, n: int) -> list[Case]:
    """95xxx service numbers (5–6 digit local parts): libphonenumber calls them fixed lines."""
    out: list[Case] = []
    while len(out) < n:
        area = _area(rng)
        v = _landline_form(rng, area, "95" + "".join(rng.choice(DIGITS) for _ in range(rng.choice([3, 4]))))
        if landline_ok(v):
            out.append(("95xxx service number (Shuwei rejects)", v, v))
    return out
