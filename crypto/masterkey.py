"""Where the master key lives. The keyring only ever asks a provider to wrap or unwrap key
material, so an external KMS (Vault transit, an HSM over PKCS#11) can hold the master key later
by implementing :class:`MasterKeyProvider`; only the local provider exists today."""

from __future__ import annotations

import base64
import binascii
import os
import stat
from pathlib import Path
from typing import Protocol

from classifier.settings import Settings
from crypto.errors import MasterKeyError
from crypto.primitives import SM4GCM, derive, open_sealed, seal

MASTER_KEY_ENV = "SHUWEI_MASTER_KEY"
MASTER_KEY_FILE_ENV = "SHUWEI_MASTER_KEY_FILE"


class MasterKeyProvider(Protocol):
    """Wraps key material; ``unwrap`` raises ``crypto.errors.DecryptError`` under the wrong master key."""

    name: str

    def wrap(self, plaintext: bytes, aad: bytes) -> bytes: ...

    def unwrap(self, blob: bytes, aad: bytes) -> bytes: ...


def _decode_key(text: str, origin: str) -> bytes:
    """Accept 64 hex chars or base64 of 32 bytes; the message never echoes the value."""
    text = text.strip()
    for decode in (bytes.fromhex, lambda s: base64.b64decode(s, validate=True),
                   lambda s: base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))):
        try:
            key = decode(text)
        except (ValueError, binascii.Error):
            continue
        if len(key) == 32:
            return key
    raise MasterKeyError(f"{origin}: master key must be 32 bytes, given as 64 hex characters or base64")


class LocalMasterKey:
    """A 32-byte master key from ``$SHUWEI_MASTER_KEY`` or a key file readable by its owner only.

    Wrapping is SM4-GCM under an HKDF-SM3 sub-key, so the raw master key is never used directly.
    """

    name = "local"

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise MasterKeyError("master key must be 32 bytes")
        self._cipher = SM4GCM(derive(key, "shuwei/keyring-wrap", 16))

    @classmethod
    def from_file(cls, path: Path) -> LocalMasterKey:
        try:
            mode = path.stat().st_mode
        except OSError as exc:
            raise MasterKeyError(f"{path}: cannot read master key file: {exc.strerror}") from None
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise MasterKeyError(f"{path}: master key file mode is {stat.S_IMODE(mode):04o}; "
                                 "it must be readable by its owner only (chmod 600)")
        raw = path.read_bytes()
        if len(raw) == 32:
            return cls(raw)
        try:
            text = raw.decode("ascii")
        except UnicodeDecodeError:
            raise MasterKeyError(f"{path}: master key must be 32 raw bytes, hex or base64") from None
        return cls(_decode_key(text, str(path)))

    @classmethod
    def from_settings(cls, settings: Settings) -> LocalMasterKey:
        """``$SHUWEI_MASTER_KEY`` wins; else ``crypto.master_key_file`` / ``$SHUWEI_MASTER_KEY_FILE``."""
        env = os.environ.get(MASTER_KEY_ENV)
        if env:
            return cls(_decode_key(env, f"${MASTER_KEY_ENV}"))
        file = settings.section("crypto").get("master_key_file") or os.environ.get(MASTER_KEY_FILE_ENV)
        if file:
            return cls.from_file(Path(file))
        raise MasterKeyError(f"no master key: set ${MASTER_KEY_ENV} (32 bytes, hex or base64) or "
                             f"crypto.master_key_file / ${MASTER_KEY_FILE_ENV} (a file with mode 0600)")

    def wrap(self, plaintext: bytes, aad: bytes) -> bytes:
        return seal(self._cipher, plaintext, aad)

    def unwrap(self, blob: bytes, aad: bytes) -> bytes:
        return open_sealed(self._cipher, blob, aad, "master key")

