"""API keys: shown once at creation, stored only as a salted hash.

The secret is 32 random bytes, so a fast keyed hash (HMAC-SHA256 with a per-key salt) is enough —
slow password hashes (scrypt) guard low-entropy passwords and would cost milliseconds per request.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from soc.service.auth.db import ServiceDB

PREFIX = "swk"
_KEY = re.compile(r"^swk_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")


@dataclass(frozen=True)
class ApiKey:
    key_id: str
    name: str
    role: str
    datasets: tuple[str, ...] | None
    grants: tuple[str, ...]
    rate: float | None
    burst: int | None
    created_at: str
    revoked_at: str | None

    def public(self) -> dict[str, Any]:
        return {"key_id": self.key_id, "name": self.name, "role": self.role,
                "datasets": list(self.datasets) if self.datasets is not None else None,
                "grants": list(self.grants), "rate": self.rate, "burst": self.burst,
                "created_at": self.created_at, "revoked_at": self.revoked_at}


def _digest(salt: bytes, secret: str) -> bytes:
    return hmac.new(salt, secret.encode(), hashlib.sha256).digest()


def _row(row: tuple[Any, ...]) -> ApiKey:
    key_id, name, role, datasets, grants, rate, burst, created, revoked = row
    return ApiKey(key_id, name, role, tuple(json.loads(datasets)) if datasets is not None else None,
                  tuple(json.loads(grants)), rate, burst, created, revoked)


_COLS = "key_id, name, role, datasets, grants, rate, burst, created_at, revoked_at"


class KeyStore:
    def __init__(self, data_dir: Path) -> None:
        self.db = ServiceDB(data_dir / "service.db")

    def create(self, *, name: str, role: str, datasets: list[str] | None = None,
               grants: list[str] | None = None, rate: float | None = None,
               burst: int | None = None) -> tuple[str, ApiKey]:
        """Return ``(plaintext key, record)``; the plaintext exists nowhere else afterwards."""
        key_id = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        salt = secrets.token_bytes(16)
        created = datetime.now(timezone.utc).isoformat(timespec="seconds")
        ds = json.dumps(sorted(set(datasets)), ensure_ascii=False) if datasets is not None else None
        gr = json.dumps(sorted(set(grants or [])))
        self.db.connect().execute(
            "INSERT INTO api_keys (key_id, name, role, datasets, grants, rate, burst, salt, hash, created_at)"
            " VALUES (?,?,?,?,?,?,?,?,?,?)",
            (key_id, name, role, ds, gr, rate, burst, salt, _digest(salt, secret), created))
        record = self.get(key_id)
        assert record is not None
        return f"{PREFIX}_{key_id}_{secret}", record

    def get(self, key_id: str) -> ApiKey | None:
        row = self.db.connect().execute(f"SELECT {_COLS} FROM api_keys WHERE key_id = ?", (key_id,)).fetchone()
        return _row(row) if row else None

    def list(self) -> list[ApiKey]:
        rows = self.db.connect().execute(f"SELECT {_COLS} FROM api_keys ORDER BY created_at, key_id")
        return [_row(r) for r in rows]

    def revoke(self, key_id: str) -> bool:
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        cur = self.db.connect().execute(
            "UPDATE api_keys SET revoked_at = ? WHERE key_id = ? AND revoked_at IS NULL", (now, key_id))
        return cur.rowcount == 1

    def verify(self, presented: str) -> ApiKey | None:
        """The live (not revoked) key matching ``presented``, compared in constant time."""
        match = _KEY.match(presented)
        if not match:
            return None
        key_id, secret = match.groups()
        row = self.db.connect().execute(
            f"SELECT {_COLS}, salt, hash FROM api_keys WHERE key_id = ?", (key_id,)).fetchone()
        if row is None:
            return None
        salt, digest = row[-2], row[-1]
        if not hmac.compare_digest(_digest(salt, secret), digest):
            return None
        record = _row(row[:-2])
        return None if record.revoked_at else record
