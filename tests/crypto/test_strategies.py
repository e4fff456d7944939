"""Every masking strategy on the contract examples and on edge cases: empty, one char, non-ASCII,
full-width, None-like, numbers, very long. Unfit values must raise Unfit (→ safe fallback)."""

from __future__ import annotations

from typing import Any

import pytest

from classifier.settings import Settings
from crypto.keys import ManagedKeys
from crypto.strategies import STRATEGIES, Tokenizer, TokenizeParams, Unfit, fallback


def make(sid: str, entity: str | None = None, keys: Any = None, **params: Any):
    cls = STRATEGIES[sid]
    return cls.build(cls.Params(**params), entity, "ds", "f", keys)


EDGE = ["", "a", "张", "ＡＢＣ１２３", 12345, 3.5, True, [1], {"a": 1}, "长" * 10_000]


@pytest.mark.parametrize("sid,entity,params,value,expected", [
    ("keep", None, {}, "张三", "张三"),
    ("mask_middle", "CN_MOBILE", {}, "13812345678", "138****5678"),
    ("mask_middle", "CN_RESIDENT_ID", {"keep_first": 6, "keep_last": 4}, "110105194912310021", "110105********0021"),
    ("mask_middle", "CN_RESIDENT_ID", {"keep_first": 6, "keep_last": 4}, "11010519491231002X", "110105********002X"),
    ("mask_middle", "CN_MOBILE", {}, "１３８１２３４５６７８", "１３８****５６７８"),
    ("mask_middle", None, {"keep_first": 1, "keep_last": 1, "char": "#"}, "abcdef", "a####f"),
    ("mask_name", None, {}, "欧阳娜娜", "欧阳**"),
    ("mask_name", None, {}, "张三", "张*"),
    ("mask_name", None, {}, "诸葛亮", "诸葛*"),
    ("mask_name", None, {}, "欧阳", "欧*"),
    ("mask_name", None, {}, "Zhang San", "Z**** S**"),
    ("mask_address", None, {}, "北京市东城区景山前街4号", "北京市东城区****"),
    ("mask_address", None, {"level": "city"}, "浙江省杭州市西湖区文三路90号", "浙江省杭州市****"),
    ("mask_address", None, {"level": "province"}, "浙江省杭州市西湖区文三路90号", "浙江省****"),
    ("mask_address", None, {"level": "street"}, "浙江省杭州市西湖区西溪街道文三路90号", "浙江省杭州市西湖区西溪街道****"),
    ("mask_email", None, {}, "zhang.san@gov.cn", "z*******@gov.cn"),
    ("generalize_date", None, {}, "1987-06-15", "1987"),
    ("generalize_date", None, {"level": "decade"}, "1987-06-15", "1980s"),
    ("generalize_date", None, {"level": "month"}, "1987年6月15日", "1987-06"),
    ("generalize_date", None, {}, "19870615", "1987"),
    ("generalize_number", None, {}, 37, "30-39"),
    ("generalize_number", None, {}, "37", "30-39"),
    ("generalize_number", None, {"bucket": 5}, -3, "-5--1"),
    ("truncate_geo", None, {}, "116.397128,39.916527", "116.40,39.92"),
    ("truncate_geo", None, {"decimals": 1}, 116.397128, 116.4),
    ("redact", None, {}, "anything", None),
])
def test_contract_examples(sid: str, entity: str | None, params: dict, value: Any, expected: Any) -> None:
    assert make(sid, entity, **params)(value) == expected


@pytest.mark.parametrize("sid,entity,params,value", [
    ("mask_middle", "CN_MOBILE", {}, "12345678"),          # an 8-digit "mobile"
    ("mask_middle", "CN_RESIDENT_ID", {"keep_first": 6, "keep_last": 4}, "11010519491231002"),
    ("mask_middle", None, {}, "1234567"),                   # would reveal nearly everything
    ("mask_name", None, {}, "张"),
    ("mask_name", None, {}, "张3"),
    ("mask_address", None, {}, "somewhere"),
    ("mask_email", None, {}, "not-an-email"),
    ("generalize_date", None, {}, "1987-13-45"),
    ("generalize_number", None, {}, "abc"),
    ("generalize_number", None, {}, float("nan")),
    ("truncate_geo", None, {}, "north"),
    ("random_replace", None, {}, "x"),                      # no entity to fake
])
def test_unfit_values_raise_unfit(sid: str, entity: str | None, params: dict, value: Any) -> None:
    with pytest.raises(Unfit):
        make(sid, entity, **params)(value)


@pytest.mark.parametrize("sid", ["mask_middle", "mask_name", "mask_address", "mask_email",
                                 "generalize_date", "generalize_number", "truncate_geo", "redact",
                                 "random_replace"])
@pytest.mark.parametrize("value", EDGE, ids=[repr(v)[:12] for v in EDGE])
def test_edge_cases_never_return_raw(sid: str, value: Any) -> None:
    entity = "PERSON_NAME" if sid == "random_replace" else None
    try:
        out = make(sid, entity)(value)
    except Unfit:
        out = fallback(value)
        assert out is None or set(out) == {"*"}
        return
    already_coarse = sid in ("generalize_number", "truncate_geo") and isinstance(value, (int, float))
    if not already_coarse:
        assert out != value


def test_fallback_is_full_mask_or_null() -> None:
    assert fallback("13812345") == "********"
    assert fallback("") is None and fallback(42) is None
    assert fallback("abc", "null") is None


@pytest.fixture()
def keys(settings: Settings, master_key: bytes) -> ManagedKeys:
    return ManagedKeys(settings, actor="tester")


def test_hash_is_keyed_stable_and_not_reversible(keys: ManagedKeys) -> None:
    h = make("hash", keys=keys)
    a = h("110105194912310021")
    assert a == h("110105194912310021") and len(a) == 64 and "110105" not in a
    assert a != h("110105194912310022")
    assert make("hash", keys=keys, key_id="other")("110105194912310021") != a
    assert h(42) == h(42)
    with pytest.raises(Unfit):
        h("")


def test_hash_is_hmac_sm3_of_the_value_under_the_managed_key(keys: ManagedKeys) -> None:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.hmac import HMAC

    def oracle(data: bytes) -> str:
        mac = HMAC(keys.hmac_key("hash"), hashes.SM3())
        mac.update(data)
        return mac.finalize().hex()

    h, short = make("hash", keys=keys), make("hash", keys=keys, length=16)
    values = ["110105194912310021", "张三", "13812345678", "110105194912310021"]
    assert [h(v) for v in values] == [oracle(v.encode()) for v in values]  # no state kept between values
    assert short("张三") == oracle("张三".encode())[:16] and h(42) == oracle(b"42")


@pytest.mark.parametrize("cipher", ["AES", "SM4"])
def test_tokenize_fpe_keeps_format_and_detokenizes(keys: ManagedKeys, cipher: str) -> None:
    t = make("tokenize_fpe", keys=keys, cipher=cipher)
    tok = t("13812345678")
    assert tok != "13812345678" and len(tok) == 11 and tok.isdigit()
    assert t("138-1234-5678")[3] == "-"
    idt = make("tokenize_fpe", keys=keys, cipher=cipher, keep_first=6)("11010519491231002X")
    assert idt.startswith("110105") and idt.endswith("X") and idt[6:17].isdigit()
    p = TokenizeParams(cipher=cipher)
    assert Tokenizer(keys.ff1(p.key_id, cipher, p.alphabet), p).decrypt(tok) == "13812345678"
    for short in ("12345", "", "abc"):
        with pytest.raises(Unfit):
            t(short)


def test_encrypt_strategy_binds_field(keys: ManagedKeys) -> None:
    enc = make("encrypt", keys=keys)
    token = enc("张三")
    fc = keys.field_cipher("default", "SM4-GCM")
    assert fc.decrypt("ds", "f", token) == "张三"
    assert make("encrypt", keys=keys, deterministic=True)("张三") == make("encrypt", keys=keys, deterministic=True)("张三")


def test_random_replace_same_entity() -> None:
    out = make("random_replace", "CN_MOBILE", seed=1)("13812345678")
    assert isinstance(out, str) and out != "13812345678" and len(out) == 11
    assert make("random_replace", "PERSON_NAME", seed=1)("张三") != "张三"
