"""Keyring: wrapping, states, rotation, destroy, wrong master key, key file modes, audit."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from classifier.settings import Settings
from crypto.envelope import FieldCipher
from crypto.errors import KeyDestroyedError, KeyringError, KeyStateError, MasterKeyError
from crypto.keyring import Keyring
from crypto.masterkey import LocalMasterKey


def _events(outbox: Path) -> list[dict]:
    return [json.loads(line) for line in outbox.read_text(encoding="utf-8").splitlines()]


def test_material_is_wrapped_and_file_is_private(keyring: Keyring, master_key: bytes) -> None:
    keyring.create("default")
    FieldCipher(keyring).encrypt("ds", "f", "x")
    raw = keyring.path.read_bytes()
    assert oct(keyring.path.stat().st_mode & 0o777) == "0o600"
    material = keyring.material("default", 1)
    dek = keyring.data_key("default", 1, "ds", create=False)
    for secret in (material, dek, master_key):
        assert secret.hex().encode() not in raw and secret not in raw
        import base64
        assert base64.b64encode(secret) not in raw


def test_rotation_keeps_old_data_readable_and_new_writes_use_new_version(keyring: Keyring, outbox: Path) -> None:
    keyring.create("default")
    fc = FieldCipher(keyring)
    old = fc.encrypt("pop", "phone", "13812345678")
    assert keyring.rotate("default") == 2
    new = fc.encrypt("pop", "phone", "13812345678")
    assert old.split(":")[3] == "1" and new.split(":")[3] == "2"
    assert fc.decrypt("pop", "phone", old) == fc.decrypt("pop", "phone", new) == "13812345678"
    states = {r["version"]: r["state"] for r in keyring.entries()}
    assert states == {1: "decrypt-only", 2: "active"}
    rewrapped = fc.rewrap("pop", "phone", old)
    assert rewrapped.split(":")[3] == "2" and fc.decrypt("pop", "phone", rewrapped) == "13812345678"
    assert fc.rewrap("pop", "phone", rewrapped) == rewrapped
    actions = [(e["action"], e["extra"]["operation"]) for e in _events(outbox)]
    assert ("config_change", "key_create") in actions and ("key_rotate", "rotate") in actions


def test_destroyed_version_makes_its_data_unreadable(keyring: Keyring, settings: Settings, outbox: Path) -> None:
    keyring.create("default")
    fc = FieldCipher(keyring)
    old = fc.encrypt("pop", "name", "张三")
    keyring.rotate("default")
    keeps = fc.encrypt("pop", "name", "李四")
    keyring.destroy("default", 1)
    with pytest.raises(KeyDestroyedError, match="destroyed"):
        fc.decrypt("pop", "name", old)
    # A fresh process (new keyring object, no caches) cannot read it either.
    fresh = FieldCipher(Keyring.open(settings))
    with pytest.raises(KeyDestroyedError):
        fresh.decrypt("pop", "name", old)
    assert fresh.decrypt("pop", "name", keeps) == "李四"
    assert "wrapped" not in json.dumps(json.loads(keyring.path.read_text())["keys"]["default"]["versions"][0])
    assert ("config_change", "key_destroy") in [(e["action"], e["extra"]["operation"]) for e in _events(outbox)]


def test_wrong_master_key_on_restart_fails_and_touches_nothing(keyring: Keyring, settings: Settings,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    keyring.create("default")
    FieldCipher(keyring).encrypt("ds", "f", "v")
    before = keyring.path.read_bytes(), keyring.path.stat().st_mtime_ns
    wrong = os.urandom(32).hex()
    monkeypatch.setenv("SHUWEI_MASTER_KEY", wrong)
    with pytest.raises(MasterKeyError) as err:
        Keyring.open(settings)
    assert "does not match" in str(err.value) and wrong not in str(err.value)
    assert (keyring.path.read_bytes(), keyring.path.stat().st_mtime_ns) == before


def test_missing_and_malformed_master_key(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SHUWEI_MASTER_KEY", raising=False)
    monkeypatch.delenv("SHUWEI_MASTER_KEY_FILE", raising=False)
    with pytest.raises(MasterKeyError, match="no master key"):
        Keyring.open(settings)
    monkeypatch.setenv("SHUWEI_MASTER_KEY", "c2VjcmV0LXRvby1zaG9ydA==")
    with pytest.raises(MasterKeyError) as err:
        Keyring.open(settings)
    assert "c2VjcmV0" not in str(err.value)


def test_key_file_must_be_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "master.key"
    path.write_text(os.urandom(32).hex())
    path.chmod(0o644)
    with pytest.raises(MasterKeyError, match="chmod 600"):
        LocalMasterKey.from_file(path)
    path.chmod(0o600)
    LocalMasterKey.from_file(path)


def test_key_errors_are_clear(keyring: Keyring) -> None:
    with pytest.raises(KeyringError, match="unknown key 'nope'"):
        keyring.rotate("nope")
    keyring.create("default")
    with pytest.raises(KeyringError, match="already exists"):
        keyring.create("default")
    with pytest.raises(KeyringError, match="no version 9"):
        keyring.destroy("default", 9)
    with pytest.raises(KeyringError, match="key id"):
        keyring.create("bad:id")
    with pytest.raises(KeyStateError, match="active version.*rotate first"):
        keyring.destroy("default", 1)
    assert FieldCipher(keyring).encrypt("ds", "f", "v").startswith("sw1:SM4-GCM:default:1:")
    keyring.destroy("default", 1, force_active=True)
    with pytest.raises(KeyringError, match="already destroyed"):
        keyring.destroy("default", 1, force_active=True)
    with pytest.raises(KeyringError, match="no active version"):
        FieldCipher(keyring).encrypt("ds", "f", "v")
    assert keyring.rotate("default") == 2  # a rotation gives the key a version to write under again


class _OtherProvider:
    """A second MasterKeyProvider (as a KMS adapter would be): the keyring works through the protocol."""

    name = "test-kms"

    def __init__(self) -> None:
        self._inner = LocalMasterKey(os.urandom(32))
        self.calls = 0

    def wrap(self, plaintext: bytes, aad: bytes) -> bytes:
        self.calls += 1
        return self._inner.wrap(plaintext, aad)

    def unwrap(self, blob: bytes, aad: bytes) -> bytes:
        self.calls += 1
        return self._inner.unwrap(blob, aad)


def test_keyring_runs_on_any_master_key_provider(settings: Settings) -> None:
    provider = _OtherProvider()
    ring = Keyring.open(settings, provider)
    ring.create("default")
    token = FieldCipher(ring).encrypt("ds", "f", "v")
    again = Keyring.open(settings, provider)
    assert FieldCipher(again).decrypt("ds", "f", token) == "v"
    assert provider.calls >= 4 and json.loads(ring.path.read_text())["provider"] == "test-kms"
    with pytest.raises(MasterKeyError):
        Keyring.open(settings, _OtherProvider())
