"""Console sessions: a server-side row per sign-in, named by a signed cookie.

The row holds the principal (as the API key or token resolved at sign-in), the CSRF token and the
expiry; the cookie holds only the session id, signed with itsdangerous so a forged or truncated
cookie is refused before any lookup. Signing out deletes the row, so a copied cookie dies with it.
Saved alert filters live in the same file (``service.db``), per user.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from itsdangerous import BadSignature, URLSafeSerializer

from soc.service.auth.db import ServiceDB
from soc.service.auth.principal import Principal

SCHEMA = """
CREATE TABLE IF NOT EXISTS console_sessions (
    session_id  TEXT PRIMARY KEY,
    subject     TEXT NOT NULL,
    role        TEXT NOT NULL,
    datasets    TEXT,            -- JSON array, NULL = not limited
    grants      TEXT NOT NULL,
    key_id      TEXT,            -- NULL for an OIDC token
    csrf        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS console_filters (
    subject     TEXT NOT NULL,
    name        TEXT NOT NULL,
    query       TEXT NOT NULL,   -- the alerts list's query string
    saved_at    TEXT NOT NULL,
    PRIMARY KEY (subject, name)
);
"""
Clock = Callable[[], datetime]


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class Session:
    session_id: str
    principal: Principal
    csrf: str
    expires_at: datetime


def _secret(data_dir: Path) -> bytes:
    """The cookie-signing key, made once per data dir (every worker reads the same file)."""
    path = data_dir / "console-secret"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes()
    with os.fdopen(fd, "wb") as fh:
        fh.write(secrets.token_bytes(32))
    return path.read_bytes()


class SessionStore:
    def __init__(self, data_dir: Path, minutes: int, clock: Clock = _utcnow) -> None:
        self.db = ServiceDB(data_dir / "service.db")
        with self.db.connect() as conn:
            conn.executescript(SCHEMA)
        self.lifetime = timedelta(minutes=minutes)
        self.clock = clock
        self.signer = URLSafeSerializer(_secret(data_dir), salt="shuwei-console-session")

    def create(self, principal: Principal, not_after: datetime | None = None) -> tuple[str, Session]:
        """A new session, ending after the configured lifetime or at ``not_after`` (an OIDC token's
        expiry) if sooner; returns ``(cookie value, session)``."""
        now = self.clock()
        sid, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        expires = min(now + self.lifetime, not_after) if not_after is not None else now + self.lifetime
        datasets = json.dumps(sorted(principal.datasets), ensure_ascii=False) if principal.datasets is not None else None
        self.db.connect().execute(
            "INSERT INTO console_sessions VALUES (?,?,?,?,?,?,?,?,?)",
            (sid, principal.subject, principal.role, datasets, json.dumps(sorted(principal.grants)),
             principal.key_id, csrf, now.isoformat(), expires.isoformat()))
        self._purge(now)
        return self.signer.dumps(sid), Session(sid, principal, csrf, expires)

    def get(self, cookie: str) -> Session | None:
        """The live session the cookie names, or None (bad signature, signed out, expired)."""
        try:
            sid = self.signer.loads(cookie)
        except BadSignature:
            return None
        if not isinstance(sid, str):
            return None
        row = self.db.connect().execute(
            "SELECT subject, role, datasets, grants, key_id, csrf, expires_at FROM console_sessions"
            " WHERE session_id = ?", (sid,)).fetchone()
        if row is None:
            return None
        subject, role, datasets, grants, key_id, csrf, expires_at = row
        expires = datetime.fromisoformat(expires_at)
        if expires <= self.clock():
            self.delete(sid)
            return None
        principal = Principal(subject, role, frozenset(json.loads(datasets)) if datasets is not None else None,
                              frozenset(json.loads(grants)), key_id)
        return Session(sid, principal, csrf, expires)

    def delete(self, session_id: str) -> None:
        self.db.connect().execute("DELETE FROM console_sessions WHERE session_id = ?", (session_id,))

    def _purge(self, now: datetime) -> None:
        self.db.connect().execute("DELETE FROM console_sessions WHERE expires_at <= ?", (now.isoformat(),))

    # -- saved alert filters ---------------------------------------------------------------------
    def save_filter(self, subject: str, name: str, query: str) -> None:
        self.db.connect().execute(
            "INSERT INTO console_filters VALUES (?,?,?,?) ON CONFLICT(subject, name) DO UPDATE SET"
            " query = excluded.query, saved_at = excluded.saved_at",
            (subject, name, query, self.clock().isoformat()))

    def filters(self, subject: str) -> list[tuple[str, str]]:
        rows = self.db.connect().execute(
            "SELECT name, query FROM console_filters WHERE subject = ? ORDER BY name", (subject,))
        return [(r[0], r[1]) for r in rows]

    def delete_filter(self, subject: str, name: str) -> None:
        self.db.connect().execute("DELETE FROM console_filters WHERE subject = ? AND name = ?", (subject, name))
