"""One opener for Shuwei's own SQLite files: its pragmas, and no module opening one another way."""

from __future__ import annotations

import re
from pathlib import Path

from classifier.sqlitedb import open_db

REPO = Path(__file__).resolve().parents[2]
# Not Shuwei's own files: a user's SQL sample source, a hunt's read-only or in-memory copies.
OTHER_DATABASES = {"classifier/samples.py", "soc/detection/hunt.py", "classifier/sqlitedb.py"}


def test_open_db_sets_wal_full_sync_busy_timeout_and_schema(tmp_path: Path) -> None:
    conn = open_db(tmp_path / "sub" / "x.db", schema="CREATE TABLE IF NOT EXISTS t (a INTEGER);")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 30000
    assert conn.isolation_level is None
    conn.execute("INSERT INTO t VALUES (1)")  # autocommit: visible to a second connection at once
    assert open_db(tmp_path / "sub" / "x.db").execute("SELECT count(*) FROM t").fetchone()[0] == 1


def test_own_sqlite_files_are_opened_only_through_open_db() -> None:
    found = []
    for package in ("classifier", "crypto", "soc"):
        for path in (REPO / package).rglob("*.py"):
            rel = path.relative_to(REPO).as_posix()
            if rel not in OTHER_DATABASES and re.search(r"sqlite3\.connect\(", path.read_text(encoding="utf-8")):
                found.append(rel)
    assert found == []
