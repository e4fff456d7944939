"""The SQLite file behind approvals and releases: one short-lived connection per operation (safe
across threads and processes), WAL journal and ``synchronous=FULL`` so a committed row survives a
crash — a release is recorded before its data goes out."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

from crypto.errors import CryptoError

DB_NAME = "share.db"

SCHEMA = """
CREATE TABLE IF NOT EXISTS approvals (
  approval_id TEXT PRIMARY KEY, dataset TEXT NOT NULL, fields TEXT NOT NULL,
  org TEXT NOT NULL, role TEXT NOT NULL, user TEXT, purpose TEXT NOT NULL,
  valid_from TEXT NOT NULL, valid_until TEXT NOT NULL, state TEXT NOT NULL,
  requested_by TEXT NOT NULL, requested_at TEXT NOT NULL,
  decided_by TEXT, decided_at TEXT, comment TEXT);
CREATE INDEX IF NOT EXISTS approvals_dataset ON approvals(dataset);
CREATE TABLE IF NOT EXISTS releases (
  release_id TEXT PRIMARY KEY, dataset TEXT NOT NULL, user TEXT NOT NULL, role TEXT NOT NULL,
  org TEXT, purpose TEXT, approval_id TEXT, at TEXT NOT NULL, rows INTEGER NOT NULL,
  fields TEXT NOT NULL, watermark TEXT);
CREATE INDEX IF NOT EXISTS releases_at ON releases(at);
"""


class ShareError(CryptoError):
    """A share request, decision or ledger write that cannot be done; ``code`` is a stable reason."""

    def __init__(self, message: str,
                 code: Literal["invalid", "not_found", "conflict", "self_approval", "storage"]) -> None:
        super().__init__(message)
        self.code = code


def db_path(data_dir: Path) -> Path:
    return data_dir / DB_NAME


@contextmanager
def connect(data_dir: Path) -> Iterator[sqlite3.Connection]:
    """A connection in one transaction: committed on success, rolled back on error, then closed."""
    path = db_path(data_dir)
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, timeout=30, isolation_level=None)
    except (OSError, sqlite3.Error) as exc:
        raise ShareError(f"{path}: cannot open the share store: {exc}", "storage") from None
    try:
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.executescript(SCHEMA)
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    except sqlite3.Error as exc:
        raise ShareError(f"{path}: {exc}", "storage") from None
    finally:
        conn.close()
