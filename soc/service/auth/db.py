"""The service's own SQLite file (``<data_dir>/service.db``): API keys.

WAL plus a generous busy timeout so concurrent workers wait for each other instead of failing
with "database is locked"; one connection per thread because sqlite3 connections are not shared.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from classifier.sqlitedb import open_db

SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (
    key_id      TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    role        TEXT NOT NULL,
    datasets    TEXT,            -- JSON array, NULL = not limited
    grants      TEXT NOT NULL,   -- JSON array of extra permissions (decrypt, detokenize)
    rate        REAL,            -- per-key override of service.rate_limit.rate
    burst       INTEGER,
    salt        BLOB NOT NULL,
    hash        BLOB NOT NULL,   -- HMAC-SHA256(salt, secret); the secret itself is never stored
    created_at  TEXT NOT NULL,
    revoked_at  TEXT
);
"""


class ServiceDB:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        with self.connect() as conn:
            conn.executescript(SCHEMA)

    def connect(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = open_db(self.path, shared=True)
            self._local.conn = conn
        return conn
