"""Envelope encryption: roundtrip, types, tamper, wrong key, wrong binding, deterministic mode."""

from __future__ import annotations

import os

import pytest

from classifier.settings import Settings
from crypto.envelope import FieldCipher
from crypto.errors import DecryptError, MasterKeyError
from crypto.keyring import Keyring


@pytest.fixture()
def fc(keyring: Keyring) -> FieldCipher:
    keyring.create("default")
    return FieldCipher(keyring)


@pytest.mark.parametrize("algorithm", ["SM4-GCM", "AES-256-GCM"])
@pytest.mark.parametrize("value", ["13812345678", "张三", "", 42, 3.5, None, True, ["a", 1], "x" * 10_000])
def test_roundtrip_keeps_value_and_type(keyring: Keyring, algorithm: str, value: object) -> None:
    keyring.ensure("default")
    fc = FieldCipher(keyring, algorithm=algorithm)
    token = fc.encrypt("pop", "f", value)
    assert token.startswith(f"sw1:{algorithm}:default:1:")
    assert fc.decrypt("pop", "f", token) == value
    assert fc.encrypt("pop", "f", value) != token  # randomized


def test_tampered_ciphertext_fails_clearly(fc: FieldCipher) -> None:
    token = fc.encrypt("pop", "phone", "13812345678")
    head, nonce, body = token.rsplit(":", 2)
    flipped = body[:-2] + ("A" if body[-2] != "A" else "B") + body[-1]
    for bad in (f"{head}:{nonce}:{flipped}", f"{head}:{nonce}:{body[:-4]}",
                token.replace("sw1:SM4-GCM", "sw1:AES-256-GCM"), "sw1:SM4-GCM:default:x:y:z",
                "hello", "sw1:SM4-GCM:default:1:!!:??"):
        with pytest.raises(DecryptError) as err:
            fc.decrypt("pop", "phone", bad)
        assert "13812345678" not in str(err.value)


def test_binding_to_dataset_and_field(fc: FieldCipher) -> None:
    token = fc.encrypt("pop", "phone", "13812345678")
    with pytest.raises(DecryptError, match="field 'mobile'"):
        fc.decrypt("pop", "mobile", token)
    fc.encrypt("other", "phone", "1")  # the other dataset has a data key of its own
    with pytest.raises(DecryptError, match="authentication failed"):
        fc.decrypt("other", "phone", token)


def test_wrong_key_fails(fc: FieldCipher, settings: Settings, data_dir, monkeypatch: pytest.MonkeyPatch) -> None:
    token = fc.encrypt("pop", "phone", "13812345678")
    other_dir = data_dir.parent / "other"
    monkeypatch.setenv("SHUWEI_DATA_DIR", str(other_dir))
    from classifier.settings import get_settings
    get_settings.cache_clear()
    other = Keyring.open(get_settings())
    other.create("default")
    FieldCipher(other).encrypt("pop", "phone", "x")
    with pytest.raises(DecryptError):
        FieldCipher(other).decrypt("pop", "phone", token)
    monkeypatch.setenv("SHUWEI_MASTER_KEY", os.urandom(32).hex())
    with pytest.raises(MasterKeyError):
        Keyring.open(settings)


def test_deterministic_mode_and_blind_index(fc: FieldCipher) -> None:
    a = fc.encrypt("pop", "id", "110105194912310021", deterministic=True)
    assert a == fc.encrypt("pop", "id", "110105194912310021", deterministic=True)
    assert a.startswith("sw1:AES-SIV:default:1::")
    assert a != fc.encrypt("pop", "id", "110105194912310022", deterministic=True)
    assert fc.decrypt("pop", "id", a) == "110105194912310021"
    with pytest.raises(DecryptError):
        fc.decrypt("pop", "id2", a)
    i1 = fc.blind_index("110105194912310021", "CN_RESIDENT_ID")
    assert i1 == fc.blind_index("110105194912310021", "CN_RESIDENT_ID")
    assert i1 != fc.blind_index("110105194912310021", "other-domain")
    assert len(i1) == 32 and "110105" not in i1
