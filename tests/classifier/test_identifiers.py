"""The identifier validators against the field's references, value by value (hypothesis), and the
shared normalisation/shape behaviour classification and masking rely on."""

from __future__ import annotations

import phonenumbers
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stdnum.cn import ric
from stdnum.cn import uscc as std_uscc

from classifier.identifiers import bank_card, documents, landline, mobile, plate, resident_id, uscc
from classifier.identifiers.divisions import last_year_table
from classifier.identifiers.shapes import fits, mask_positions
from crypto.strategies import MaskMiddle, MaskMiddleParams

BATCH = st.integers(min_value=0, max_value=2**32 - 1)
SETTINGS = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
DIGITS = "0123456789"


def _ric_ok(number: str) -> bool:
    try:
        return ric.is_valid(number)
    except KeyError:  # stdnum 2.2: a province code without that county raises KeyError
        return False


def _id_batch(seed: int, n: int = 500) -> list[str]:
    """Resident-ID-like numbers: real and unreal division codes, dates around the edges, the
    right check char for 9 in 10 of them."""
    import random

    rng = random.Random(seed)
    codes = [int(c) for c in (last_year_table() > 0).nonzero()[0]]
    out = []
    for _ in range(n):
        code = rng.choice(codes) if rng.random() < 0.8 else rng.randrange(100000, 1000000)
        year = rng.choice([rng.randrange(1800, 2026), 1899, 1900, 1983, 1984, 2000])
        body = f"{code:06d}{year}{rng.randrange(0, 14):02d}{rng.randrange(0, 33):02d}{rng.randrange(1000):03d}"
        check = resident_id.check_char(body) if rng.random() < 0.9 else rng.choice("0123456789X")
        out.append(body + check)
    return out


@SETTINGS
@given(BATCH)
def test_resident_id_agrees_with_stdnum_except_documented(seed):
    values = _id_batch(seed)
    ours = resident_id.valid_many(pa.array(values))
    last = last_year_table()
    for v, mine in zip(values, ours):
        theirs = _ric_ok(v)
        if mine == theirs:
            continue
        # the documented differences, and nothing else
        year = int(v[6:10])
        if mine:  # looser: the code was in use after the birth year, not in it
            assert last[int(v[:6])] >= year and not theirs, v
        else:  # stricter: before 1800
            assert year < 1800, v


def test_residence_permit_numbers_of_hk_macao_taiwan_residents():
    """港澳台居民居住证 numbers (810000 / 820000 / 830000 + birth date + sequence + check char); Faker's
    zh_CN provider issues the Taiwan form too. stdnum rejects all three (no 830000 code, and the
    SAR codes start in 1997/1999)."""
    from faker import Faker

    for number in ("810000197709306078", "82000019770930607X", "830000197709306071"):
        assert resident_id.is_valid(number) and not _ric_ok(number), number
    assert not resident_id.is_valid("830000197709306072")  # the check char still decides
    fake = Faker("zh_CN")
    fake.seed_instance(7)
    taiwan = [n for n in (fake.ssn() for _ in range(20_000)) if n.startswith("830000")]
    assert taiwan and resident_id.valid_many(pa.array(taiwan)).all()


def test_gb11643_example_and_spaced_forms():
    assert resident_id.is_valid("440524188001010014")
    assert not _ric_ok("440524188001010014")  # the reason for the documented difference
    assert resident_id.is_valid("110105 19491231 002x") and resident_id.is_valid("'11010519491231002X")
    assert resident_id.compact("１１０１０５１９４９１２３１００２ｘ") == "11010519491231002X"


@SETTINGS
@given(BATCH)
def test_uscc_agrees_with_stdnum_except_documented(seed):
    import random

    rng = random.Random(seed)
    values = []
    for _ in range(500):
        head = rng.choice(list(uscc.ALLOCATED)) + rng.choice(uscc.CHARS) if rng.random() < 0.5 \
            else "".join(rng.choice(DIGITS) for _ in range(2))
        body = head + "".join(rng.choice(DIGITS) for _ in range(6)) + "".join(rng.choice(uscc.CHARS) for _ in range(9))
        values.append(body + (uscc.check_char(body) if rng.random() < 0.9 else rng.choice(uscc.CHARS)))
    ours = uscc.valid_many(pa.array(values))
    for v, mine in zip(values, ours):
        theirs = std_uscc.is_valid(v)
        allocated = v[1] in uscc.ALLOCATED.get(v[0], "")
        if v[0].isdigit():
            assert mine == (theirs and allocated), v
        else:  # authorities A, N, Y: stdnum rejects every letter there
            assert not theirs and mine == (allocated and uscc.check_char(v[:17]) == v[17]), v


def _phone_ok(text: str, kind: int) -> bool:
    try:
        n = phonenumbers.parse(text, "CN")
    except phonenumbers.NumberParseException:  # e.g. "100…": read as an international prefix
        return False
    return phonenumbers.is_valid_number(n) and phonenumbers.number_type(n) == kind


@SETTINGS
@given(BATCH)
def test_mobile_table_agrees_with_phonenumbers(seed):
    import random

    rng = random.Random(seed)
    values = ["1" + "".join(rng.choice(DIGITS) for _ in range(10)) for _ in range(600)]
    ours = mobile.valid_many(pa.array(values))
    assert list(ours) == [_phone_ok(v, phonenumbers.PhoneNumberType.MOBILE) for v in values]


@SETTINGS
@given(BATCH)
def test_landline_table_agrees_with_phonenumbers(seed):
    import random

    rng = random.Random(seed)
    values = []
    for _ in range(600):
        area = rng.choice(["10", *(f"2{d}" for d in DIGITS)]) if rng.random() < 0.3 else str(rng.randrange(300, 1000))
        values.append(area + str(rng.randrange(2, 10)) + "".join(rng.choice(DIGITS) for _ in range(rng.choice([6, 7]))))
    ours = landline.valid_many(pa.array(values))
    assert list(ours) == [_phone_ok("0" + v, phonenumbers.PhoneNumberType.FIXED_LINE) for v in values]


@pytest.mark.parametrize("text", ["03355213206", "020 25935186", "022 3466 1306", "+86 21 6869 2259",
                                  "+862122017620", "+86-22-23456789", "0086 10 62345678", "(010)62345678"])
def test_landline_forms_compact_to_the_national_number(text):
    assert landline.is_valid(text)
    assert landline.compact(text) == phonenumbers.parse(text, "CN").national_number.__str__()


@pytest.mark.parametrize("text", ["0086 13812345678", "(+86)13812345678", "+86 138-1234-5678", "８６１３８１２３４５６７８"])
def test_mobile_forms(text):
    assert mobile.is_valid(text) and mobile.compact(text) == "13812345678"


def test_documents_plates_cards():
    assert all(documents.is_passport(v) for v in ("k12345678", "MA1234567", "141234567", "ea1234567"))
    assert all(documents.is_permit(v) for v in ("c12345678", "m1234567890"))
    assert all(plate.is_valid(v) for v in ("京AA92035", "粤BA03205", "辽J49448C", "沪A1234领", "京A0001警"))
    assert not plate.is_valid("京AL92035")
    assert bank_card.is_valid("370247001234565") and not bank_card.is_valid("620247001234565")


# The large value-by-value comparison (20,000 per entity) is `python -m bench.identifiers`; these
# keep a few thousand per run so the suite stays fast while hypothesis varies the seed.


# Masking recognises every accepted written form and keeps it.
MASKS = [
    ("CN_MOBILE", 3, 4, "+86 138-1234-5678", "+86 138-****-5678"),
    ("CN_MOBILE", 3, 4, "(+86)13812345678", "(+86)138****5678"),
    ("CN_RESIDENT_ID", 6, 4, "110105 19491231 002X", "110105 ******** 002X"),
    ("CN_RESIDENT_ID", 6, 4, "'11010519491231002x", "'110105********002x"),
    ("CN_USCC", 2, 2, "91 110000 600037341L", "91 ****** ********1L"),
    ("CN_PASSPORT", 1, 3, "k12345678", "k*****678"),
    ("CN_LANDLINE", 3, 2, "+86 21 6869 2259", "+86 21 6*** **59"),
]


@pytest.mark.parametrize("entity,first,last,value,masked", MASKS)
def test_mask_middle_keeps_the_format(entity, first, last, value, masked):
    assert fits(entity, value)
    mask = MaskMiddle.build(MaskMiddleParams(keep_first=first, keep_last=last), entity, "d", "f", None)
    assert mask(value) == masked


@given(st.sampled_from(["13812345678", "19912345678"]),
       st.lists(st.sampled_from(["", " ", "-"]), min_size=10, max_size=10),
       st.sampled_from(["", "+86", "0086", "(+86)", "+86 "]))
def test_any_accepted_mobile_form_is_masked_in_place(number, seps, prefix):
    seps[:2] = ["", ""]  # separators go after the first three digits
    text = prefix + "".join(d + s for d, s in zip(number, seps + [""]))
    assert mobile.is_valid(text)
    pos = mask_positions("CN_MOBILE", text)
    assert "".join(text[i] for i in pos) == number
    masked = MaskMiddle.build(MaskMiddleParams(), "CN_MOBILE", "d", "f", None)(text)
    assert len(masked) == len(text) and masked.startswith(prefix)
    assert "".join(masked[i] for i in pos) == number[:3] + "****" + number[-4:]


def _classify(columns: dict[str, list[str]]) -> dict[str, dict]:
    from pathlib import Path

    from classifier.classify import Classifier
    from classifier.columns import ColumnTally
    from classifier.policy import Policy

    clf = Classifier(Policy.load(Path(__file__).resolve().parents[2] / "policies"))
    tallies = {n: ColumnTally() for n in columns}
    for n, vals in columns.items():
        clf.scanner.update(tallies[n], pa.array(vals, type=pa.string()))
    rows = len(next(iter(columns.values())))
    graded = clf.grade("t", clf.column_inputs(list(columns), tallies, columns, rows), rows)
    return {c["name"]: c for c in graded["columns"]}


CARD_AND_USCC = "621144269420809395"  # Luhn-valid card number that also passes the USCC check


def test_ambiguous_value_takes_the_higher_grade_or_the_supported_reading():
    assert bank_card.is_valid(CARD_AND_USCC) and uscc.is_valid(CARD_AND_USCC)
    col = _classify({"number": [CARD_AND_USCC]})["number"]
    assert col["entity"] == "CN_BANK_CARD" and any("CN_USCC" in r and "就高原则" in r for r in col["reasons"])
    col = _classify({"单位名称": ["杭州数卫科技有限公司"], "number": [CARD_AND_USCC]})["number"]
    assert col["entity"] == "CN_USCC" and any("CN_BANK_CARD" in r for r in col["reasons"])
    col = _classify({"统一社会信用代码": [CARD_AND_USCC]})["统一社会信用代码"]
    assert col["entity"] == "CN_USCC"


def test_excel_scientific_notation_is_reported_not_guessed():
    values = ["2.10725E+17", "1.10105E+17", "4.40524E+17"] * 10
    named = _classify({"身份证号": values})["身份证号"]
    assert named["entity"] == "CN_RESIDENT_ID" and named["confidence"] < 0.5
    assert any("scientific notation" in r for r in named["reasons"])
    assert not any("2.10725E+17" in e for e in named["evidence"])
    plain = _classify({"c1": values})["c1"]
    assert plain["entity"] is None and any("scientific notation" in r for r in plain["reasons"])


def test_old_digit_only_passports_need_the_header():
    values = [f"14{i:07d}" for i in range(1000, 1100)]
    assert _classify({"护照号": values})["护照号"]["entity"] == "CN_PASSPORT"
    assert _classify({"c1": values})["c1"]["entity"] is None


def test_nfkc_stable_code_points_are_stable() -> None:
    """Every code point of NFKC_STABLE: no decomposition, combining class 0, never the second of a
    composition pair (so NFKC leaves any string of them alone) — by unicodedata and by Arrow."""
    import sys
    import unicodedata

    import pyarrow as pa
    import pyarrow.compute as pc

    from classifier.identifiers.text import NFKC_STABLE

    seconds = set()
    for cp in range(sys.maxunicode + 1):
        d = unicodedata.decomposition(chr(cp))
        if d and not d.startswith("<") and len(d.split()) == 2:
            seconds.add(int(d.split()[1], 16))
    chars = [chr(cp) for a, b in NFKC_STABLE for cp in range(a, b + 1)]
    for ch in chars:
        assert unicodedata.normalize("NFKC", ch) == ch and unicodedata.combining(ch) == 0, hex(ord(ch))
        assert ord(ch) not in seconds and not 0x1100 <= ord(ch) <= 0x11FF, hex(ord(ch))  # Hangul jamo
    arrow = pc.utf8_normalize(pa.array(chars), "NFKC").to_pylist()
    assert arrow == chars


def test_nfkc_many_is_arrow_nfkc() -> None:
    import random

    import pyarrow as pa
    import pyarrow.compute as pc

    from classifier.identifiers.text import nfkc_many

    rng = random.Random(4)
    alphabet = [chr(c) for c in [*range(0x20, 0x7F), *range(0xFF01, 0xFF5F), 0x3000, 0x301, 0x308, 0x2026,
                                 0x2126, 0xF900, 0x2460, 0x1100, 0x1161, 0xAC00, 0x2014, 0xB7, 0xA0, 0x3099,
                                 0x304B, 0xFFE5, 0x2103]] + list("京市区路号，：（）")
    for _ in range(100):
        texts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 20))) for _ in range(rng.randint(1, 200))]
        arr = pa.array(texts)
        for values in (arr, arr.slice(1), pa.array([*texts, None])):
            assert nfkc_many(values).equals(pc.utf8_normalize(values, "NFKC")), texts


# Characters around the byte boundaries the lead-byte test of nfkc_many works on (2/3/4-byte
# UTF-8, the stable ranges' edges, full-width forms), plus any code point.
_EDGES = [0x7F, 0x80, 0xB6, 0xB7, 0xB8, 0xD7, 0xE9, 0x301, 0x7FF, 0x800, 0x2012, 0x2013, 0x2016, 0x2017,
          0x2022, 0x2023, 0x2026, 0x3000, 0x3001, 0x3003, 0x3004, 0x3008, 0x3011, 0x3012, 0x301B, 0x301C,
          0x3099, 0x33FF, 0x3400, 0x4DBF, 0x4DC0, 0x4DFF, 0x4E00, 0x4FFF, 0x5000, 0x9FFF, 0xA000, 0xF900,
          0xFF00, 0xFF01, 0xFF5E, 0xFF5F, 0xFFE5, 0x10000, 0x1F600, 0x2F800, 0x10FFFF]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(st.one_of(st.sampled_from([chr(c) for c in _EDGES]), st.characters(exclude_categories=["Cs"])),
                        max_size=12), min_size=1, max_size=20), st.integers(0, 3))
def test_nfkc_many_is_arrow_nfkc_on_any_text(texts: list[str], cut: int) -> None:
    import pyarrow as pa
    import pyarrow.compute as pc

    from classifier.identifiers.text import nfkc_many

    values = pa.array(texts).slice(min(cut, len(texts) - 1))
    assert nfkc_many(values).equals(pc.utf8_normalize(values, "NFKC"))
