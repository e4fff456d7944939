"""Signing an evidence pack's manifest with the evidence key of the keyring: Ed25519
(``cryptography``) and SM2 (GB/T 32918, ``gmalg``).

The key id is ``evidence.signing_key`` (default ``evidence``). Like the masking policy's keys it is
created on first use (audited ``key_create`` with the reason), because the configuration names it;
callers never choose it. Both private keys are derived (HKDF-SM3) from the active version's
material and live only in memory; the pack and the exported public-key file hold public keys only.

Why ``gmalg`` for SM2: ``cryptography`` has SM3 and SM4 but no SM2. ``gmalg`` (pure Python, MIT,
released 2026-08) draws the signing nonce from ``secrets`` and has typed signatures; ``gmssl``
3.2.2 (last release 2023-02) draws it from ``random.choice`` — a Mersenne Twister whose output
can be predicted, which leaks the private key through the signatures — so it stays a test-only
cross-check (``tests/soc/test_evidence_pack.py`` verifies our SM2 signatures with it).
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from classifier.settings import Settings
from crypto.primitives import derive

SIGNATURE_FORMAT = "shuwei-evidence-signature/1"
PUBLIC_KEY_FORMAT = "shuwei-evidence-public-key/1"
SM2_UID = b"1234567812345678"  # the default signer id of GB/T 35276-2017
_SM2_N = int("FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123", 16)
FIRST_USE = "first use by `shuwei evidence export` (evidence.signing_key)"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@dataclass(frozen=True)
class PublicKeys:
    key_id: str
    version: int
    ed25519: bytes  # raw 32 bytes
    sm2: bytes  # uncompressed point 04||x||y

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the Ed25519 public key: what an assessor compares over another channel."""
        return hashlib.sha256(self.ed25519).hexdigest()

    def document(self) -> dict[str, Any]:
        pem = Ed25519PublicKey.from_public_bytes(self.ed25519).public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")
        return {"format": PUBLIC_KEY_FORMAT, "key_id": self.key_id, "key_version": self.version,
                "fingerprint_sha256": self.fingerprint, "ed25519": _b64(self.ed25519), "ed25519_pem": pem,
                "sm2": self.sm2.hex(), "sm2_uid": SM2_UID.decode()}

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> PublicKeys:
        if doc.get("format") != PUBLIC_KEY_FORMAT:
            raise ValueError(f"not a Shuwei evidence public key ({PUBLIC_KEY_FORMAT} expected)")
        return cls(str(doc["key_id"]), int(doc["key_version"]), base64.b64decode(doc["ed25519"]),
                   bytes.fromhex(doc["sm2"]))


class EvidenceSigner:
    def __init__(self, key_id: str, version: int, material: bytes) -> None:
        self._ed = Ed25519PrivateKey.from_private_bytes(derive(material, "shuwei/evidence-ed25519", 32))
        sk = int.from_bytes(derive(material, "shuwei/evidence-sm2", 32), "big") % (_SM2_N - 1) + 1
        self._sm2_sk = sk.to_bytes(32, "big")
        import gmalg

        sm2 = gmalg.SM2(sk=self._sm2_sk, uid=SM2_UID)
        raw = self._ed.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self.public = PublicKeys(key_id, version, raw, sm2.generate_pk(self._sm2_sk))

    @classmethod
    def from_settings(cls, settings: Settings) -> EvidenceSigner:
        """Raises ``crypto.errors.CryptoError`` (no master key, wrong one, keyring unreadable)."""
        from crypto.keyring import Keyring

        key_id = str(settings.section("evidence").get("signing_key") or "evidence")
        ring = Keyring.open(settings)
        ring.ensure(key_id, reason=FIRST_USE)
        version = ring.active_version(key_id)
        return cls(key_id, version, ring.material(key_id, version))

    def sign(self, manifest: bytes) -> dict[str, Any]:
        import gmalg

        r, s = gmalg.SM2(sk=self._sm2_sk, uid=SM2_UID, pk=self.public.sm2).sign(manifest)
        return {"format": SIGNATURE_FORMAT, "manifest": "manifest.json",
                "manifest_sha256": hashlib.sha256(manifest).hexdigest(),
                "key_id": self.public.key_id, "key_version": self.public.version,
                "fingerprint_sha256": self.public.fingerprint,
                "ed25519": {"public_key": _b64(self.public.ed25519), "signature": _b64(self._ed.sign(manifest))},
                "sm2": {"public_key": self.public.sm2.hex(), "uid": SM2_UID.decode(),
                        "signature": r.rjust(32, b"\0").hex() + s.rjust(32, b"\0").hex()}}


def check(manifest: bytes, signature: dict[str, Any], trusted: PublicKeys) -> list[str]:
    """Problems with ``signature`` over ``manifest`` under the trusted public keys (empty: good)."""
    import gmalg

    problems = []
    try:
        Ed25519PublicKey.from_public_bytes(trusted.ed25519).verify(
            base64.b64decode(signature["ed25519"]["signature"]), manifest)
    except (InvalidSignature, KeyError, TypeError, ValueError):
        problems.append("bad signature: Ed25519 signature does not verify under the exported public key "
                        f"(fingerprint {trusted.fingerprint[:16]}…)")
    try:
        raw = bytes.fromhex(signature["sm2"]["signature"])
        ok = len(raw) == 64 and gmalg.SM2(pk=trusted.sm2, uid=SM2_UID).verify(manifest, raw[:32], raw[32:])
    except (KeyError, TypeError, ValueError):
        ok = False
    if not ok:
        problems.append("bad signature: SM2 signature does not verify under the exported public key")
    return problems
