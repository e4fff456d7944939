"""FF1: roundtrip and format preservation (hypothesis), alphabets, SP 800-38G Rev.1 domain check."""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings, strategies as st

from crypto.errors import DomainError
from crypto.fpe import BASE36, FF1, min_length

KEY = bytes.fromhex("2B7E151628AED2A6ABF7158809CF4F3C")
AES = FF1(KEY)
SM4 = FF1(KEY, cipher="SM4")
B36 = FF1(os.urandom(32), radix=36)
HAN = FF1(KEY, alphabet="零一二三四五六七八九")


@settings(max_examples=200, deadline=None)
@given(text=st.text(alphabet="0123456789", min_size=6, max_size=40), tweak=st.binary(max_size=12),
       ff1=st.sampled_from([AES, SM4]))
def test_digits_roundtrip_keep_format(text: str, tweak: bytes, ff1: FF1) -> None:
    ct = ff1.encrypt(text, tweak)
    assert len(ct) == len(text) and ct.isdigit()
    assert ff1.decrypt(ct, tweak) == text


@settings(max_examples=100, deadline=None)
@given(text=st.text(alphabet=BASE36, min_size=4, max_size=30))
def test_radix36_and_custom_alphabet_roundtrip(text: str) -> None:
    ct = B36.encrypt(text)
    assert len(ct) == len(text) and set(ct) <= set(BASE36) and B36.decrypt(ct) == text
    han = "".join("零一二三四五六七八九"[int(c, 36) % 10] for c in text) + "零一"
    out = HAN.encrypt(han)
    assert len(out) == len(han) and set(out) <= set("零一二三四五六七八九") and HAN.decrypt(out) == han


def test_tweak_and_key_change_the_output() -> None:
    assert AES.encrypt("13812345678") != AES.encrypt("13812345678", b"t")
    assert AES.encrypt("13812345678") != SM4.encrypt("13812345678")
    assert FF1(os.urandom(16)).encrypt("13812345678") != AES.encrypt("13812345678")


def test_domain_size_check_sp800_38g_rev1() -> None:
    assert min_length(10) == 6 and min_length(36) == 4 and min_length(2) == 20
    for ff1, short in ((AES, "12345"), (SM4, "12345"), (B36, "abc")):
        with pytest.raises(DomainError, match=r"domain too small: radix \d+ needs at least \d+ characters"):
            ff1.encrypt(short)
    AES.encrypt("123456")


def test_bad_inputs_are_clear() -> None:
    with pytest.raises(DomainError, match="outside the alphabet at position 3"):
        AES.encrypt("12a45678")
    with pytest.raises(DomainError, match="repeated"):
        FF1(KEY, alphabet="0012")
    with pytest.raises(DomainError, match="16 bytes"):
        FF1(os.urandom(32), cipher="SM4")
    with pytest.raises(DomainError, match="AES or SM4"):
        FF1(KEY, cipher="DES")
