"""Thin, fast wrappers over `cryptography` (OpenSSL) for the 商用密码 algorithms and their AES
peers. Everything else in ``crypto`` goes through here, so no module touches hazmat directly."""

from __future__ import annotations

import hashlib
import hmac
import os
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, CipherContext, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, AESSIV
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from crypto.errors import DecryptError

NONCE_LEN = 12
TAG_LEN = 16


def sm3(data: bytes) -> bytes:
    """SM3 digest (GB/T 32905-2016)."""
    return hashlib.new("sm3", data).digest()


def hmac_sm3(key: bytes, data: bytes) -> bytes:
    """HMAC-SM3; stdlib ``hmac`` over OpenSSL's SM3 is as fast as hazmat HMAC and simpler."""
    return hmac.new(key, data, "sm3").digest()


def derive(key: bytes, info: str, length: int = 32) -> bytes:
    """HKDF-SM3: one secret, many independent sub-keys (wrap, check, FF1, blind index ...)."""
    return HKDF(algorithm=hashes.SM3(), length=length, salt=None,
                info=info.encode("utf-8")).derive(key)


class Aead(Protocol):
    def encrypt(self, nonce: bytes, data: bytes, associated_data: bytes | None) -> bytes: ...
    def decrypt(self, nonce: bytes, data: bytes, associated_data: bytes | None) -> bytes: ...


class SM4GCM:
    """SM4-GCM (RFC 8998) with the same call shape as ``AESGCM``: ``ciphertext || tag``.

    `cryptography` has no SM4 AEAD class, so this drives ``Cipher(SM4, GCM)``; the key schedule
    object is built once and only the mode context is created per value.
    """

    def __init__(self, key: bytes) -> None:
        if len(key) != 16:
            raise ValueError("SM4 keys are 16 bytes")
        self._alg = algorithms.SM4(key)

    def encrypt(self, nonce: bytes, data: bytes, associated_data: bytes | None) -> bytes:
        enc = Cipher(self._alg, modes.GCM(nonce)).encryptor()
        if associated_data:
            enc.authenticate_additional_data(associated_data)
        out = enc.update(data) + enc.finalize()
        return out + enc.tag

    def decrypt(self, nonce: bytes, data: bytes, associated_data: bytes | None) -> bytes:
        if len(data) < TAG_LEN:
            raise InvalidTag()
        dec = Cipher(self._alg, modes.GCM(nonce)).decryptor()
        if associated_data:
            dec.authenticate_additional_data(associated_data)
        return dec.update(data[:-TAG_LEN]) + dec.finalize_with_tag(data[-TAG_LEN:])


ALGORITHMS = ("SM4-GCM", "AES-256-GCM")


def aead(algorithm: str, key: bytes) -> Aead:
    """The AEAD for ``algorithm``; SM4 takes the first 16 bytes of a 32-byte data key via HKDF."""
    if algorithm == "SM4-GCM":
        return SM4GCM(derive(key, "shuwei/sm4-gcm", 16) if len(key) != 16 else key)
    if algorithm == "AES-256-GCM":
        return AESGCM(key)
    raise ValueError(f"unknown algorithm {algorithm!r}; expected one of {', '.join(ALGORITHMS)}")


def seal(cipher: Aead, data: bytes, associated_data: bytes) -> bytes:
    """Random 96-bit nonce || ciphertext || tag."""
    nonce = os.urandom(NONCE_LEN)
    return nonce + cipher.encrypt(nonce, data, associated_data)


def open_sealed(cipher: Aead, blob: bytes, associated_data: bytes, what: str) -> bytes:
    """Inverse of :func:`seal`; any failure becomes a :class:`DecryptError` naming ``what``."""
    try:
        return cipher.decrypt(blob[:NONCE_LEN], blob[NONCE_LEN:], associated_data)
    except (InvalidTag, ValueError):
        raise DecryptError(f"{what}: authentication failed (tampered, wrong key or wrong binding)") from None


class Siv:
    """Deterministic AEAD (AES-SIV, RFC 5297): equal plaintexts give equal ciphertexts."""

    def __init__(self, key: bytes) -> None:
        self._siv = AESSIV(key)

    def encrypt(self, data: bytes, associated_data: bytes) -> bytes:
        return self._siv.encrypt(data, [associated_data])

    def decrypt(self, data: bytes, associated_data: bytes) -> bytes:
        return self._siv.decrypt(data, [associated_data])


def sm4_ecb_encryptor(key: bytes) -> CipherContext:
    """A reusable SM4-ECB encryptor (ECB keeps no state between ``update`` calls)."""
    return Cipher(algorithms.SM4(key), modes.ECB()).encryptor()


def aes_ecb_encryptor(key: bytes) -> CipherContext:
    return Cipher(algorithms.AES(key), modes.ECB()).encryptor()
