"""Managed keys: who may create a key, and which version a detokenize may use."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from classifier.settings import Settings
from crypto.errors import KeyDestroyedError, KeyStateError, UnknownKeyError
from crypto.keyring import Keyring
from crypto.keys import ManagedKeys
from crypto.strategies import TokenizeParams

PARAMS = TokenizeParams(key_id="fpe")


def test_explicit_operations_refuse_unknown_keys(settings: Settings, keyring: Keyring) -> None:
    keys = ManagedKeys(settings)
    for make in (lambda: keys.tokenizer(PARAMS), lambda: keys.tokenizer(PARAMS, reverse=True),
                 lambda: keys.cipher("fpe", "SM4-GCM")):
        with pytest.raises(UnknownKeyError, match="unknown key 'fpe'"):
            make()
    assert not keyring.path.exists()  # nothing was written, not even an empty keyring


def test_the_policy_path_creates_its_key_on_first_use(settings: Settings, keyring: Keyring, outbox: Path) -> None:
    keys = ManagedKeys(settings)
    token = keys.ff1("fpe", "AES", "0123456789").encrypt("13812345678")
    tok, version = keys.tokenizer(PARAMS, reverse=True)
    assert version == 1 and tok.decrypt(token) == "13812345678"
    created = [e for e in map(json.loads, outbox.read_text(encoding="utf-8").splitlines())
               if e["action"] == "config_change" and e["extra"]["operation"] == "key_create"]
    assert [(e["extra"]["key_id"], e["extra"]["reason"]) for e in created] == [("fpe", "first use by the masking policy")]


def test_a_rotated_key_needs_the_version_even_when_only_one_is_readable(settings: Settings,
                                                                       keyring: Keyring) -> None:
    keyring.create("fpe")
    keys = ManagedKeys(settings)
    tok1, v1 = keys.tokenizer(PARAMS)
    token = tok1.encrypt("13812345678")
    keyring.rotate("fpe")
    with pytest.raises(KeyStateError, match=r"versions 1 \(decrypt-only\), 2 \(active\)"):
        keys.tokenizer(PARAMS, reverse=True)
    back, used = keys.tokenizer(PARAMS, reverse=True, version=v1)
    assert used == 1 and back.decrypt(token) == "13812345678"
    with pytest.raises(UnknownKeyError, match="no version 3"):
        keys.tokenizer(PARAMS, reverse=True, version=3)
    with pytest.raises(KeyStateError, match="only to detokenize"):
        keys.tokenizer(PARAMS, version=1)
    keyring.destroy("fpe", 1)
    # v2 is the only readable version, but v1 made the token: still no guess.
    with pytest.raises(KeyStateError, match="destroyed"):
        keys.tokenizer(PARAMS, reverse=True)
    with pytest.raises(KeyDestroyedError):
        keys.tokenizer(PARAMS, reverse=True, version=1)
