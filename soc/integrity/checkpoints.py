"""Signed checkpoints over a hash chain: what a database writer cannot recompute.

A checkpoint says "chain C had head H at seq S" (plus, for a retention purge, the runs it removed),
is numbered ``n`` per chain, links to the previous checkpoint's digest, and is signed with Ed25519
under a key derived from the keyring (``soc-checkpoint``, wrapped by the master key). The database
holds checkpoints and signatures, never the key, so editing, deleting, inserting or reordering
events and recomputing the SM3 chain (and its unkeyed head) no longer verifies.

Ed25519 rather than SM2: ``cryptography`` (the suite's crypto library, OpenSSL underneath) has no
SM2; the only maintained SM2 on PyPI is pure Python (``gmalg``), without constant-time arithmetic.
The hashing stays SM3. A checkpoint format field (``alg``) leaves room for SM2 later.
"""

from __future__ import annotations

import base64
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from classifier.settings import ConfigError, Settings
from crypto.errors import CryptoError, MasterKeyError
from crypto.primitives import derive, sm3
from soc.chain import GENESIS

KEY_ID = "soc-checkpoint"
ALG = "Ed25519"
FORMAT = 1
PurgeRun = tuple[int, int, int, str]  # first_seq, last_seq, count, last_hash


@dataclass(frozen=True, slots=True)
class Checkpoint:
    chain: str
    n: int
    seq: int
    head: str
    prev: str
    at: str
    reason: str  # events | time | close | purge
    key_version: int
    purges: tuple[PurgeRun, ...] = ()
    skipped: tuple[PurgeRun, ...] = ()  # chain positions never stored (duplicates, refused documents)
    extra: dict[str, Any] = field(default_factory=dict)  # store-specific signed facts (ES retention)
    body: str = ""       # the exact signed text
    signature: str = ""  # base64 Ed25519 over ``body``

    @property
    def digest(self) -> str:
        """What the next checkpoint's ``prev`` holds (body and signature, so neither can change)."""
        return sm3((self.body + "." + self.signature).encode()).hex()

    @property
    def label(self) -> str:
        return f"signed checkpoint {self.n} (seq {self.seq}, {self.at})"

    def as_line(self) -> bytes:
        return orjson.dumps({"body": self.body, "sig": self.signature})


def _body(fields: dict[str, Any]) -> str:
    return orjson.dumps(fields, option=orjson.OPT_SORT_KEYS).decode()


def parse(body: str, signature: str) -> Checkpoint:
    """A stored or anchored checkpoint; ValueError when the body is not one."""
    try:
        d = orjson.loads(body)
        return Checkpoint(str(d["chain"]), int(d["n"]), int(d["seq"]), str(d["head"]), str(d["prev"]),
                          str(d["at"]), str(d["reason"]), int(d["kv"]), _runs(d.get("purges", ())),
                          _runs(d.get("skipped", ())), dict(d.get("extra", {})), body, signature)
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"not a checkpoint ({exc.__class__.__name__})") from None


def _runs(items: Any) -> tuple[PurgeRun, ...]:
    return tuple((int(a), int(b), int(c), str(h)) for a, b, c, h in items)


class CheckpointKey:
    """Signs and checks checkpoints with the keyring's ``soc-checkpoint`` key (any version)."""

    def __init__(self, keyring: Any) -> None:
        self._keyring = keyring
        self._private: dict[int, Ed25519PrivateKey] = {}

    @classmethod
    def from_settings(cls, settings: Settings) -> CheckpointKey | None:
        """None without a master key: the store then keeps the unkeyed chain only (verify says so).
        A master key that does not open the keyring is a configuration error, never "unsigned"."""
        from crypto.keyring import Keyring
        from crypto.masterkey import LocalMasterKey

        try:
            provider = LocalMasterKey.from_settings(settings)
        except MasterKeyError:
            return None
        try:
            keyring = Keyring.open(settings, provider, actor="shuwei-soc")
            keyring.ensure(KEY_ID, reason="signs the SOC audit trail's checkpoints")
        except CryptoError as exc:
            raise ConfigError(f"soc checkpoint key: {exc}") from None
        return cls(keyring)

    def _key(self, version: int) -> Ed25519PrivateKey:
        key = self._private.get(version)
        if key is None:
            seed = derive(self._keyring.material(KEY_ID, version), "shuwei/soc-checkpoint/ed25519", 32)
            key = self._private[version] = Ed25519PrivateKey.from_private_bytes(seed)
        return key

    def sign(self, chain: str, n: int, seq: int, head: str, prev: str, reason: str,
             purges: tuple[PurgeRun, ...] = (), at: datetime | None = None, *,
             skipped: tuple[PurgeRun, ...] = (), extra: dict[str, Any] | None = None) -> Checkpoint:
        version = self._keyring.active_version(KEY_ID)
        when = (at or datetime.now(timezone.utc)).astimezone(timezone.utc).isoformat(timespec="milliseconds")
        fields: dict[str, Any] = {"v": FORMAT, "alg": ALG, "chain": chain, "n": n, "seq": seq, "head": head,
                                  "prev": prev, "at": when, "reason": reason, "key": KEY_ID, "kv": version}
        if purges:
            fields["purges"] = [list(p) for p in purges]
        if skipped:
            fields["skipped"] = [list(p) for p in skipped]
        if extra:
            fields["extra"] = extra
        body = _body(fields)
        sig = base64.b64encode(self._key(version).sign(body.encode())).decode()
        return Checkpoint(chain, n, seq, head, prev, when, reason, version, purges, skipped, extra or {},
                          body, sig)

    def problem(self, cp: Checkpoint) -> str | None:
        """Why ``cp`` does not verify, or None."""
        try:
            public: Ed25519PublicKey = self._key(cp.key_version).public_key()
        except CryptoError as exc:
            return f"cannot be checked: {exc}"
        try:
            public.verify(base64.b64decode(cp.signature, validate=True), cp.body.encode())
        except (InvalidSignature, ValueError):
            return (f"signature does not verify under this deployment's key {KEY_ID} v{cp.key_version} "
                    "(forged, edited, or signed by another key)")
        return None


@dataclass(frozen=True)
class Signing:
    """What a store needs to sign: the key, when to sign, where to anchor."""

    key: CheckpointKey | None
    policy: CheckpointPolicy
    anchors: Path | None

    @classmethod
    def from_settings(cls, settings: Settings) -> Signing:
        from soc.config import soc_config

        cfg = soc_config(settings)
        return cls(CheckpointKey.from_settings(settings),
                   CheckpointPolicy(cfg.checkpoint_events, cfg.checkpoint_minutes * 60), cfg.anchors)


@dataclass
class CheckpointPolicy:
    """When the writer signs: every ``events`` new events, or ``seconds`` after the first unsigned
    one; always at a chain's first append, at a purge and when the writer closes."""

    events: int = 10_000
    seconds: float = 300.0
    clock: Callable[[], float] = time.monotonic
    now: Callable[[], datetime] = lambda: datetime.now(timezone.utc)  # the signed ``at``

    def describe(self) -> str:
        return (f"signed every {self.events:,} events or {self.seconds / 60:g} minutes, at each purge "
                "and when the writer closes")


class IdleTimer:
    """Calls ``tick`` every ``seconds`` (at least 1 s) on a daemon thread, until stopped: an idle
    writer's tail gets signed without waiting for the next append or close."""

    def __init__(self, seconds: float, tick: Callable[[], None]) -> None:
        self._seconds, self._tick = max(1.0, seconds), tick
        self._stop = threading.Event()
        threading.Thread(target=self._run, name="soc-checkpoint-timer", daemon=True).start()

    def _run(self) -> None:
        while not self._stop.wait(self._seconds):
            try:
                self._tick()
            except Exception:  # noqa: BLE001 - a failed idle checkpoint is retried at the next tick
                logging.getLogger(__name__).exception("idle checkpoint failed")

    def stop(self) -> None:
        self._stop.set()


@dataclass
class ChainSigner:
    """Per-chain state of a writer: the last checkpoint and what it does not cover yet."""

    key: CheckpointKey
    chain: str
    policy: CheckpointPolicy
    last: Checkpoint | None = None
    unsigned: int = 0
    unsigned_since: float | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def added(self, count: int) -> bool:
        """Record ``count`` appended events; True when a checkpoint is due."""
        if count:
            self.unsigned += count
            if self.unsigned_since is None:
                self.unsigned_since = self.policy.clock()
        return self.due()

    def due(self) -> bool:
        """A chain's first events are signed at once, so no chain is ever left with none."""
        return bool(self.unsigned) and (
            self.last is None or self.unsigned >= self.policy.events
            or self.policy.clock() - (self.unsigned_since or 0.0) >= self.policy.seconds)

    def sign(self, seq: int, head: str, reason: str, purges: tuple[PurgeRun, ...] = (), *,
             skipped: tuple[PurgeRun, ...] = (), extra: dict[str, Any] | None = None) -> Checkpoint:
        n = self.last.n + 1 if self.last else 1
        prev = self.last.digest if self.last else GENESIS
        return self.key.sign(self.chain, n, seq, head, prev, reason, purges, self.policy.now(),
                             skipped=skipped, extra=extra)

    def signed(self, cp: Checkpoint) -> None:
        """``cp`` is durable in the store."""
        self.last, self.unsigned, self.unsigned_since = cp, 0, None
