"""Envelope field encryption: self-describing ciphertext strings bound to dataset and field.

Randomized: ``sw1:<alg>:<key id>:<version>:<nonce>:<ciphertext+tag>`` (base64url, no padding),
``alg`` = ``SM4-GCM`` or ``AES-256-GCM`` under the dataset's data key. Deterministic (equal in →
equal out, for joins and equality search): ``sw1:AES-SIV:<key id>:<version>::<ciphertext>``.
The associated data is the header plus dataset and field, so a value pasted into another field or
dataset, or relabelled with another algorithm/version, fails to decrypt. A blind index
(HMAC-SM3) can sit beside a randomized ciphertext for equality search.

The value keeps its JSON type: strings are encrypted as UTF-8, other values as JSON.
"""

from __future__ import annotations

import binascii
import json
import os
from typing import Any

from cryptography.exceptions import InvalidTag

from crypto.errors import DecryptError, KeyDestroyedError, KeyringError
from crypto.keyring import Keyring
from crypto.primitives import ALGORITHMS, NONCE_LEN, Aead, Siv, aead, derive, hmac_sm3

PREFIX = "sw1"
SIV = "AES-SIV"


_TO_URL = bytes.maketrans(b"+/", b"-_")
_FROM_URL = bytes.maketrans(b"-_", b"+/")


def _b64e(data: bytes) -> str:
    """base64url without padding (binascii: a third of the cost of ``base64.urlsafe_b64encode``)."""
    return binascii.b2a_base64(data, newline=False).translate(_TO_URL).rstrip(b"=").decode("ascii")


def _b64d(text: str) -> bytes:
    raw = text.encode("ascii").translate(_FROM_URL)
    return binascii.a2b_base64(raw + b"=" * (-len(raw) % 4), strict_mode=True)


def encode_value(value: Any) -> bytes:
    if isinstance(value, str):
        return b"s" + value.encode("utf-8")
    return b"j" + json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def decode_value(data: bytes) -> Any:
    kind, body = data[:1], data[1:]
    return body.decode("utf-8") if kind == b"s" else json.loads(body)


def is_ciphertext(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX + ":")


class FieldCipher:
    """Encrypts and decrypts field values; unwrapped data keys and cipher objects are cached."""

    def __init__(self, keyring: Keyring, key_id: str = "default", algorithm: str = "SM4-GCM") -> None:
        if algorithm not in ALGORITHMS:
            raise ValueError(f"unknown algorithm {algorithm!r}; expected one of {', '.join(ALGORITHMS)}")
        self.keyring, self.key_id, self.algorithm = keyring, key_id, algorithm
        self._aeads: dict[tuple[str, str, int, str], Aead] = {}
        self._sivs: dict[tuple[str, int, str], Siv] = {}
        self._bidx: dict[tuple[str, int], bytes] = {}
        self._generation = -1
        self._version: int | None = None
        self._writers: dict[str, tuple[str, Aead]] = {}  # dataset → (header, cipher) for new writes

    def _sync(self) -> None:
        """Drop cached ciphers when the keyring changed (rotate/destroy here or in another process)."""
        generation = self.keyring.refresh()
        if generation != self._generation:
            self._aeads.clear()
            self._sivs.clear()
            self._bidx.clear()
            self._writers.clear()
            self._version = None
            self._generation = generation

    def _active(self) -> int:
        if self._version is None:
            self._version = self.keyring.active_version(self.key_id)
        return self._version

    def _aead(self, alg: str, key_id: str, version: int, dataset: str, create: bool) -> Aead:
        slot = (alg, key_id, version, dataset)
        cipher = self._aeads.get(slot)
        if cipher is None:
            dek = self.keyring.data_key(key_id, version, dataset, create=create)
            cipher = self._aeads[slot] = aead(alg, dek)
        return cipher

    def _siv(self, key_id: str, version: int, dataset: str, create: bool) -> Siv:
        slot = (key_id, version, dataset)
        siv = self._sivs.get(slot)
        if siv is None:
            dek = self.keyring.data_key(key_id, version, dataset, create=create)
            siv = self._sivs[slot] = Siv(derive(dek, "shuwei/aes-siv", 64))
        return siv

    def encrypt(self, dataset: str, field: str, value: Any, *, deterministic: bool = False) -> str:
        self._sync()
        plain = encode_value(value)
        if deterministic:
            version = self._active()
            header = f"{PREFIX}:{SIV}:{self.key_id}:{version}"
            aad = f"{header}|{dataset}|{field}".encode()
            ct = self._siv(self.key_id, version, dataset, True).encrypt(plain, aad)
            return f"{header}::{_b64e(ct)}"
        writer = self._writers.get(dataset)
        if writer is None:
            version = self._active()
            writer = self._writers[dataset] = (f"{PREFIX}:{self.algorithm}:{self.key_id}:{version}",
                                               self._aead(self.algorithm, self.key_id, version, dataset, True))
        header, cipher = writer
        nonce = os.urandom(NONCE_LEN)
        ct = cipher.encrypt(nonce, plain, f"{header}|{dataset}|{field}".encode())
        # 12 bytes are 16 base64 chars with no padding, so one encoding serves nonce and data.
        both = _b64e(nonce + ct)
        return f"{header}:{both[:16]}:{both[16:]}"

    def parse(self, token: Any, where: str = "value") -> tuple[str, str, str, int, bytes, bytes]:
        """(header, algorithm, key id, version, nonce, ciphertext) or a DecryptError naming ``where``."""
        if not isinstance(token, str):
            raise DecryptError(f"{where}: not a ciphertext string")
        parts = token.split(":")
        if len(parts) != 6 or parts[0] != PREFIX:
            raise DecryptError(f"{where}: not a Shuwei ciphertext ({PREFIX}:alg:key:version:nonce:data)")
        _, alg, key_id, ver, nonce, body = parts
        if alg not in ALGORITHMS and alg != SIV:
            raise DecryptError(f"{where}: unknown algorithm {alg!r}")
        try:
            version = int(ver)
            if len(nonce) == 16:  # one decoding for nonce and data, as encrypt wrote them
                both = _b64d(nonce + body)
                return token[:-len(nonce) - len(body) - 2], alg, key_id, version, both[:NONCE_LEN], both[NONCE_LEN:]
            if nonce:
                raise ValueError("nonce length")
            return token[:-len(body) - 2], alg, key_id, version, b"", _b64d(body)
        except (ValueError, binascii.Error):
            raise DecryptError(f"{where}: malformed ciphertext (bad version, nonce or base64)") from None

    def decrypt(self, dataset: str, field: str, token: Any) -> Any:
        self._sync()
        where = f"dataset '{dataset}', field '{field}'"
        header, alg, key_id, version, nonce, body = self.parse(token, where)
        aad = f"{header}|{dataset}|{field}".encode()
        try:
            if alg == SIV:
                plain = self._siv(key_id, version, dataset, False).decrypt(body, aad)
            else:
                plain = self._aead(alg, key_id, version, dataset, False).decrypt(nonce, body, aad)
        except KeyringError as exc:
            if isinstance(exc, KeyDestroyedError) or "no data key" not in str(exc):
                raise
            raise DecryptError(f"{where}: no data key for this dataset under key '{key_id}' version "
                               f"{version}: the value belongs to another dataset or keyring") from None
        except (InvalidTag, ValueError):  # never return garbage
            raise DecryptError(f"{where}: authentication failed (tampered, wrong key, or bound to "
                               "another dataset/field)") from None
        return decode_value(plain)

    def needs_rewrap(self, token: Any) -> bool:
        _, _, key_id, version, _, _ = self.parse(token)
        self._sync()
        return key_id != self.key_id or version != self._active()

    def rewrap(self, dataset: str, field: str, token: str) -> str:
        """Re-encrypt under the active version (same mode); current values come back unchanged."""
        if not self.needs_rewrap(token):
            return token
        value = self.decrypt(dataset, field, token)
        return self.encrypt(dataset, field, value, deterministic=token.split(":")[1] == SIV)

    def blind_index(self, value: Any, domain: str) -> str:
        """HMAC-SM3 of the value under the active version, per ``domain`` (e.g. the field or the
        entity, when two datasets must join on it); hex, 32 chars."""
        self._sync()
        version = self._active()
        slot = (domain, version)
        key = self._bidx.get(slot)
        if key is None:
            key = self._bidx[slot] = derive(self.keyring.material(self.key_id, version),
                                            f"shuwei/blind-index|{domain}")
        return hmac_sm3(key, encode_value(value)).hex()[:32]
