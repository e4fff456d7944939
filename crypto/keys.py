"""Managed keys for the keyed strategies (hash, tokenize_fpe, encrypt), opened lazily so a
policy that needs no key runs without a master key. Missing key ids are created on first use."""

from __future__ import annotations

from classifier.settings import Settings
from crypto.envelope import FieldCipher
from crypto.fpe import FF1
from crypto.keyring import Keyring
from crypto.primitives import derive


class ManagedKeys:
    def __init__(self, settings: Settings, *, actor: str = "shuwei") -> None:
        self._settings, self._actor = settings, actor
        self._keyring: Keyring | None = None
        self._ciphers: dict[tuple[str, str], FieldCipher] = {}

    @property
    def keyring(self) -> Keyring:
        if self._keyring is None:
            self._keyring = Keyring.open(self._settings, actor=self._actor)
        return self._keyring

    def generation(self) -> int:
        """Changes when the keyring does (rotation, destroy) so compiled plans are rebuilt."""
        return -1 if self._keyring is None else self._keyring.refresh()

    def _active(self, key_id: str) -> bytes:
        ring = self.keyring
        ring.ensure(key_id)
        return ring.material(key_id, ring.active_version(key_id))

    def hmac_key(self, key_id: str) -> bytes:
        return derive(self._active(key_id), "shuwei/hash-hmac-sm3")

    def ff1(self, key_id: str, cipher: str, alphabet: str, version: int | None = None, *,
            create: bool = True) -> FF1:
        """FF1 under the active version (or ``version``, to detokenize after a rotation).
        Detokenizing passes ``create=False``: a fresh key would silently give garbage."""
        ring = self.keyring
        if create:
            ring.ensure(key_id)
        material = ring.material(key_id, version or ring.active_version(key_id))
        size = 32 if cipher == "AES" else 16
        return FF1(derive(material, f"shuwei/ff1-{cipher.lower()}", size), alphabet=alphabet, cipher=cipher)

    def field_cipher(self, key_id: str, algorithm: str) -> FieldCipher:
        slot = (key_id, algorithm)
        if slot not in self._ciphers:
            self.keyring.ensure(key_id)
            self._ciphers[slot] = FieldCipher(self.keyring, key_id, algorithm)
        return self._ciphers[slot]
