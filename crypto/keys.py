"""Managed keys for the keyed strategies (hash, tokenize_fpe, encrypt) and for the explicit field
operations of the CLI and the API, opened lazily so a policy that needs no key runs without a
master key.

Who may create a key: an administrator (``shuwei crypto keys create``) and the masking policy,
whose key ids the engine creates on first use (the policy is the administrator's configuration).
An explicit operation — ``shuwei crypto tokenize|encrypt|detokenize|decrypt``, ``/v1/tokenize`` and
the other ``/v1`` crypto routes — never creates one: an unknown key id is an
:class:`~crypto.errors.UnknownKeyError`, so a typo or a fuzzer cannot fill the keyring, and a
reversal never runs under a key that did not make the value.

FF1 tokens keep the format, so they cannot say which key version made them, and reversing one
under another version yields other digits without any error. :meth:`ManagedKeys.token_version`
therefore refuses to guess: see ``docs/design/fpe-versions.md``.
"""

from __future__ import annotations

from classifier.settings import Settings
from crypto.envelope import FieldCipher
from crypto.errors import KeyStateError, UnknownKeyError
from crypto.fpe import FF1
from crypto.keyring import Keyring
from crypto.primitives import derive
from crypto.strategies import TokenizeParams, Tokenizer


POLICY_FIRST_USE = "first use by the masking policy"  # in the key_create audit event


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

    # -- the masking policy's keys: created on first use ----------------------------------------
    def _active(self, key_id: str) -> bytes:
        ring = self.keyring
        ring.ensure(key_id, reason=POLICY_FIRST_USE)
        return ring.material(key_id, ring.active_version(key_id))

    def hmac_key(self, key_id: str) -> bytes:
        return derive(self._active(key_id), "shuwei/hash-hmac-sm3")

    def ff1(self, key_id: str, cipher: str, alphabet: str) -> FF1:
        """FF1 under the active version of a policy key (created on first use)."""
        return _ff1(self._active(key_id), cipher, alphabet)

    def watermark_key(self, key_id: str) -> tuple[bytes, int]:
        """(material, version) of the active version of the policy's watermark key (created on
        first use); tracing reads recorded versions with ``keyring.material`` and creates nothing."""
        ring = self.keyring
        ring.ensure(key_id, reason=POLICY_FIRST_USE)
        version = ring.active_version(key_id)
        return ring.material(key_id, version), version

    def field_cipher(self, key_id: str, algorithm: str) -> FieldCipher:
        self.keyring.ensure(key_id, reason=POLICY_FIRST_USE)
        return self._cipher(key_id, algorithm)

    def active_version(self, key_id: str) -> int:
        return self.keyring.active_version(key_id)

    # -- explicit operations (CLI and API): never create a key -------------------------------
    def tokenizer(self, params: TokenizeParams, *, reverse: bool = False,
                  version: int | None = None) -> tuple[Tokenizer, int]:
        """The tokenizer of ``shuwei crypto tokenize|detokenize`` and ``/v1/tokenize|detokenize``
        and the key version it runs under. Tokenizing uses the active version; reversing uses
        :meth:`token_version`. ``version`` is only for reversing."""
        ring = self.keyring
        if reverse:
            used = self.token_version(params.key_id, version)
        else:
            if version is not None:
                raise KeyStateError("tokens are always made under the active version; "
                                    "a version is given only to detokenize")
            ring.versions(params.key_id)  # UnknownKeyError rather than a new key
            used = ring.active_version(params.key_id)
        return Tokenizer(_ff1(ring.material(params.key_id, used), params.cipher, params.alphabet), params), used

    def token_version(self, key_id: str, version: int | None) -> int:
        """The version to reverse FF1 tokens of ``key_id`` under — only when it is certain.

        A given ``version`` must exist (a destroyed one fails when its material is read). Without
        one, a key that has only ever had one version is certain; a rotated key is refused, because
        any version turns any token into plausible digits."""
        states = self.keyring.versions(key_id)
        if version is not None:
            if version not in states:
                raise UnknownKeyError(f"key '{key_id}' has no version {version}", version=version)
            return version
        if len(states) == 1:
            return next(iter(states))
        listing = ", ".join(f"{v} ({s})" for v, s in sorted(states.items()))
        raise KeyStateError(
            f"key '{key_id}' has versions {listing}: an FF1 token does not record the version that made "
            "it, and reversing it under another one gives wrong digits without any error; give the "
            "version the tokens were made under (--version / key_version; the tokenize audit event "
            "and the mask decision name it)")

    def cipher(self, key_id: str, algorithm: str) -> FieldCipher:
        """Field encryption under an existing key (``UnknownKeyError`` otherwise)."""
        self.keyring.versions(key_id)
        return self._cipher(key_id, algorithm)

    def _cipher(self, key_id: str, algorithm: str) -> FieldCipher:
        slot = (key_id, algorithm)
        if slot not in self._ciphers:
            self._ciphers[slot] = FieldCipher(self.keyring, key_id, algorithm)
        return self._ciphers[slot]


def _ff1(material: bytes, cipher: str, alphabet: str) -> FF1:
    size = 32 if cipher == "AES" else 16
    return FF1(derive(material, f"shuwei/ff1-{cipher.lower()}", size), alphabet=alphabet, cipher=cipher)
