"""The embedded keyring: ``<data_dir>/keyring.json`` (mode 0600), key material wrapped by the
master key, never stored in clear.

Each key id has versions in one of three states: ``active`` (new writes; at most one per id),
``decrypt-only`` (older versions after a rotation) and ``destroyed`` (material deleted on purpose:
data under it is unreadable). Per-dataset data keys (DEKs) are generated on first use and stored
wrapped by their key version (envelope encryption). An authenticated check value (a blob wrapped
by the master key) makes a wrong master key fail at open, before anything is written.

Audit events (``classifier.audit``): ``key_rotate`` for rotate and rewrap; ``config_change`` with
``extra.operation`` = ``key_create``, ``key_destroy`` or ``dek_create`` for the others.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from classifier import audit
from classifier.settings import Settings
from crypto.errors import (DecryptError, KeyDestroyedError, KeyringError, KeyStateError, MasterKeyError,
                           UnknownKeyError)
from crypto.masterkey import LocalMasterKey, MasterKeyProvider
from crypto.primitives import SM4GCM, derive, open_sealed, seal

KEYRING_NAME = "keyring.json"
FORMAT = "shuwei-keyring/1"
CHECK_PLAINTEXT = b"shuwei keyring check v1"
KEY_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
ACTIVE, DECRYPT_ONLY, DESTROYED = "active", "decrypt-only", "destroyed"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class Keyring:
    """Thread-safe; other processes' changes are picked up by reloading on a cache miss."""

    def __init__(self, path: Path, provider: MasterKeyProvider, *, actor: str = "shuwei") -> None:
        self.path = path
        self.provider = provider
        self.actor = actor
        self._lock = threading.RLock()
        self._doc: dict[str, Any] = {}
        self._mtime: float | None = None
        self._material: dict[tuple[str, int], bytes] = {}
        self._deks: dict[tuple[str, int, str], bytes] = {}
        self.generation = 0  # bumped whenever the loaded document changes
        self._checked = 0.0
        self._reload(force=True)

    @classmethod
    def open(cls, settings: Settings, provider: MasterKeyProvider | None = None, *,
             actor: str = "shuwei") -> Keyring:
        return cls(settings.ensure_data_dir() / KEYRING_NAME,
                   provider or LocalMasterKey.from_settings(settings), actor=actor)

    # -- persistence -------------------------------------------------------------------------
    def _reload(self, force: bool = False) -> None:
        """Read the file if it changed; verify the master key against the check value."""
        try:
            mtime = self.path.stat().st_mtime_ns
        except FileNotFoundError:
            if self._doc:
                self.generation += 1
            self._doc, self._mtime = {}, None
            return
        if not force and mtime == self._mtime:
            return
        self.generation += 1
        self._material.clear()
        self._deks.clear()
        try:
            doc = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise KeyringError(f"{self.path}: keyring unreadable: {exc.__class__.__name__}") from None
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise KeyringError(f"{self.path}: not a Shuwei keyring (format {FORMAT} expected)")
        try:
            ok = self.provider.unwrap(_unb64(doc["check"]), b"check") == CHECK_PLAINTEXT
        except (DecryptError, KeyError, ValueError):
            ok = False
        if not ok:
            raise MasterKeyError(f"{self.path}: the master key does not match this keyring "
                                 "(check value failed); nothing was changed")
        self._doc, self._mtime = doc, mtime

    def refresh(self, interval: float = 1.0) -> int:
        """Re-read the file if another process changed it (checked at most every ``interval`` s);
        returns :attr:`generation` so cipher caches know when to drop what they hold."""
        now = time.monotonic()
        if now - self._checked >= interval:
            with self._lock:
                self._reload()
            self._checked = now
        return self.generation

    def _write(self) -> None:
        tmp = self.path.with_suffix(".json.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(self._doc, fh, indent=1, sort_keys=True)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)
        self._mtime = self.path.stat().st_mtime_ns
        self.generation += 1

    @contextmanager
    def _transaction(self) -> Iterator[dict[str, Any]]:
        """Exclusive across processes (flock) and threads; reload, change, write atomically."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock, open(self.path.with_suffix(".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                self._reload()
                if not self._doc:
                    self._doc = {"format": FORMAT, "provider": self.provider.name,
                                 "check": _b64(self.provider.wrap(CHECK_PLAINTEXT, b"check")),
                                 "keys": {}, "deks": {}}
                yield self._doc
                self._write()
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _emit(self, action: str, operation: str, dataset: str | None = None, **extra: Any) -> None:
        audit.emit(audit.make_event(action, user=self.actor, dataset=dataset,
                                    extra={"operation": operation, **extra}), self.path.parent)

    # -- key lifecycle ----------------------------------------------------------------------
    def create(self, key_id: str, *, reason: str | None = None) -> int:
        """A new key id with version 1 active; refuses an id that exists. ``reason`` goes into
        the audit event (e.g. why the system, not an administrator, created it)."""
        if not KEY_ID.match(key_id):
            raise KeyringError(f"key id {key_id!r}: use 1-64 letters, digits, '_', '.', '-'")
        with self._transaction() as doc:
            if key_id in doc["keys"]:
                raise KeyringError(f"key '{key_id}' already exists; use rotate to add a version")
            doc["keys"][key_id] = {"created": _now(), "versions": [self._new_version(key_id, 1)]}
        self._emit("config_change", "key_create", key_id=key_id, version=1,
                   **({"reason": reason} if reason else {}))
        return 1

    def ensure(self, key_id: str, *, reason: str | None = None) -> None:
        """Create ``key_id`` if absent (used when a policy first needs a managed key)."""
        with self._lock:
            self._reload()
            if key_id in self._doc.get("keys", {}):
                return
            try:
                self.create(key_id, reason=reason)
            except KeyringError:
                self._reload()
                if key_id not in self._doc.get("keys", {}):
                    raise

    def _new_version(self, key_id: str, version: int) -> dict[str, Any]:
        material = os.urandom(32)
        return {"version": version, "state": ACTIVE, "created": _now(),
                "wrapped": _b64(self.provider.wrap(material, f"kek|{key_id}|{version}".encode()))}

    def rotate(self, key_id: str) -> int:
        """Add a version that new writes use; the previous active one becomes decrypt-only."""
        with self._transaction() as doc:
            versions = self._versions(doc, key_id)
            for v in versions:
                if v["state"] == ACTIVE:
                    v["state"] = DECRYPT_ONLY
            new: int = max(v["version"] for v in versions) + 1
            versions.append(self._new_version(key_id, new))
        self._emit("key_rotate", "rotate", key_id=key_id, version=new)
        return new

    def destroy(self, key_id: str, version: int, *, force_active: bool = False) -> None:
        """Delete the material of one version and its data keys: its ciphertexts become unreadable.

        The active version is refused unless ``force_active``: every current ciphertext and token
        is under it, and the key would be left with nothing to write under. Rotate first."""
        with self._transaction() as doc:
            entry = self._version(doc, key_id, version)
            if entry["state"] == DESTROYED:
                raise KeyStateError(f"key '{key_id}' version {version} is already destroyed")
            if entry["state"] == ACTIVE and not force_active:
                raise KeyStateError(
                    f"key '{key_id}' version {version} is the active version: destroying it makes every "
                    f"current ciphertext and token under '{key_id}' unreadable; rotate first "
                    f"(`shuwei crypto keys rotate {key_id}`), or pass --force-active (audited)")
            entry["state"], entry["destroyed"] = DESTROYED, _now()
            entry.pop("wrapped", None)
            doc["deks"].pop(f"{key_id}:{version}", None)
        self._material.pop((key_id, version), None)
        for k in [k for k in self._deks if k[:2] == (key_id, version)]:
            del self._deks[k]
        self._emit("config_change", "key_destroy", key_id=key_id, version=version, force_active=force_active)

    def entries(self) -> list[dict[str, Any]]:
        """Metadata only (id, version, state, dates, data-key count) — never material."""
        with self._lock:
            self._reload()
            rows = []
            for key_id, key in sorted(self._doc.get("keys", {}).items()):
                for v in key["versions"]:
                    deks = self._doc["deks"].get(f"{key_id}:{v['version']}", {})
                    rows.append({"key_id": key_id, "version": v["version"], "state": v["state"],
                                 "created": v["created"], "destroyed": v.get("destroyed"),
                                 "data_keys": len(deks)})
            return rows

    # -- material ----------------------------------------------------------------------------
    @staticmethod
    def _versions(doc: dict[str, Any], key_id: str) -> list[dict[str, Any]]:
        try:
            versions: list[dict[str, Any]] = doc["keys"][key_id]["versions"]
            return versions
        except KeyError:
            raise UnknownKeyError(f"unknown key '{key_id}' (an administrator creates keys: "
                                  f"`shuwei crypto keys create {key_id}`)") from None

    def _version(self, doc: dict[str, Any], key_id: str, version: int) -> dict[str, Any]:
        for v in self._versions(doc, key_id):
            if v["version"] == version:
                return v
        raise UnknownKeyError(f"key '{key_id}' has no version {version}", version=version)

    def versions(self, key_id: str) -> dict[int, str]:
        """Version → state of ``key_id`` (raises UnknownKeyError), from a fresh read of the file."""
        with self._lock:
            self._reload()
            return {v["version"]: v["state"] for v in self._versions(self._doc, key_id)}

    def active_version(self, key_id: str) -> int:
        """From the loaded document; :meth:`refresh` picks up other processes' rotations."""
        with self._lock:
            if key_id not in self._doc.get("keys", {}):
                self._reload()
            for v in self._versions(self._doc, key_id):
                if v["state"] == ACTIVE:
                    active: int = v["version"]
                    return active
        raise KeyStateError(f"key '{key_id}' has no active version; rotate it to add one")

    def material(self, key_id: str, version: int) -> bytes:
        """Unwrapped key-encryption material of one version (cached in memory only)."""
        cached = self._material.get((key_id, version))
        if cached is not None:
            return cached
        with self._lock:
            self._reload()
            entry = self._version(self._doc, key_id, version)
            if entry["state"] == DESTROYED:
                raise KeyDestroyedError(f"key '{key_id}' version {version} was destroyed; "
                                        "data encrypted under it is unreadable")
            material = self.provider.unwrap(_unb64(entry["wrapped"]), f"kek|{key_id}|{version}".encode())
            self._material[(key_id, version)] = material
            return material

    def data_key(self, key_id: str, version: int, dataset: str, *, create: bool) -> bytes:
        """The per-dataset DEK under ``key_id`` v``version``; generated and stored on first write."""
        cached = self._deks.get((key_id, version, dataset))
        if cached is not None:
            return cached
        kek = LocalKek(self.material(key_id, version))
        aad = f"dek|{key_id}|{version}|{dataset}".encode()
        with self._lock:
            self._reload()
            wrapped = self._doc.get("deks", {}).get(f"{key_id}:{version}", {}).get(dataset)
            if wrapped is None:
                if not create:
                    raise KeyringError(f"no data key for dataset '{dataset}' under key '{key_id}' "
                                       f"version {version}")
                with self._transaction() as doc:
                    slot = doc["deks"].setdefault(f"{key_id}:{version}", {})
                    if dataset not in slot:
                        slot[dataset] = _b64(kek.wrap(os.urandom(32), aad))
                        created = True
                    else:
                        created = False
                    wrapped = slot[dataset]
                if created:
                    self._emit("config_change", "dek_create", key_id=key_id, version=version,
                               dataset=dataset)
            dek = kek.unwrap(_unb64(wrapped), aad)
            self._deks[(key_id, version, dataset)] = dek
            return dek


class LocalKek:
    """Wraps DEKs with SM4-GCM under a sub-key of one key version's material."""

    def __init__(self, material: bytes) -> None:
        self._cipher = SM4GCM(derive(material, "shuwei/dek-wrap", 16))

    def wrap(self, dek: bytes, aad: bytes) -> bytes:
        return seal(self._cipher, dek, aad)

    def unwrap(self, blob: bytes, aad: bytes) -> bytes:
        return open_sealed(self._cipher, blob, aad, "data key")
