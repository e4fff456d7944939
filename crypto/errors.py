"""Errors of the crypto area. Messages name the key, dataset, field, file or line — never a
secret or a plaintext value — so callers may show them to users as they are."""

from __future__ import annotations


class CryptoError(Exception):
    """Base of every error this package raises on purpose."""


class MasterKeyError(CryptoError):
    """No master key, a malformed one, a key file with loose permissions, or the wrong key."""


class KeyringError(CryptoError):
    """Unknown key id or version, a key in the wrong state, or an unreadable keyring file."""


class UnknownKeyError(KeyringError):
    """A key id or version the keyring does not hold. Only an administrator creates keys, so a
    caller's request never does (HTTP 404). ``version`` is set when the id exists but not it."""

    def __init__(self, message: str, *, version: int | None = None) -> None:
        super().__init__(message)
        self.version = version


class KeyStateError(KeyringError):
    """The key exists but cannot serve this operation as asked: no active version, the active
    version asked to be destroyed, or an FF1 token whose version cannot be proven (HTTP 409)."""


class KeyDestroyedError(KeyStateError):
    """The key version was destroyed on purpose: data under it is unreadable."""


class DecryptError(CryptoError):
    """Ciphertext malformed, tampered, under another key, or bound to another dataset/field."""


class DomainError(CryptoError):
    """An FF1 input outside its alphabet or below the SP 800-38G Rev.1 minimum domain size."""


class PolicyError(CryptoError):
    """A masking policy that cannot be applied; names file, line and rule (HTTP 422)."""

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None,
                 rule: str | None = None) -> None:
        where = ":".join(p for p in (file, str(line) if line else None) if p)
        prefix = f"{where}: " if where else ""
        suffix = f" (rule {rule})" if rule else ""
        super().__init__(f"{prefix}{message}{suffix}")
        self.file, self.line, self.rule, self.message = file, line, rule, message


class RecordError(CryptoError):
    """A record the engine cannot process at all (not an object, bad field name) (HTTP 400)."""

    def __init__(self, index: int, field: str | None, message: str) -> None:
        at = f"record {index}" + (f", field '{field}'" if field else "")
        super().__init__(f"{at}: {message}")
        self.index, self.field, self.message = index, field, message
