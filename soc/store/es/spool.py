"""Durable local spool: events ES could not take wait here (SQLite, fsynced) until replayed.

Why SQLite and not JSONL: replay removes what ES acknowledged, one batch at a time, and a crash
between the bulk call and the removal must leave a consistent file; a unique ``event_id`` also
keeps a resent event from being spooled (and acknowledged) twice while ES is away. Alerts raised
during an outage wait here too (latest state per alert), replayed with the events.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from classifier import jsonl
from classifier.sqlitedb import open_db

_SCHEMA = """
CREATE TABLE IF NOT EXISTS spool (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT UNIQUE NOT NULL,
    idx TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS alerts (
    id TEXT PRIMARY KEY,
    rule_id TEXT NOT NULL,
    group_key TEXT NOT NULL,
    last_epoch REAL NOT NULL,
    doc TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS dead_letters (
    event_id TEXT PRIMARY KEY,
    idx TEXT NOT NULL,
    doc TEXT NOT NULL,
    reason TEXT NOT NULL
);
"""

Row = tuple[int, str, str, str]  # id, event_id, index, source JSON


class Spool:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn = open_db(path, schema=_SCHEMA, shared=True)
        self._lock = threading.Lock()

    def add(self, docs: list[tuple[str, str, str]]) -> list[bool]:
        """Spool ``(event_id, index, source)``; False where that event_id is already waiting."""
        out: list[bool] = []
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                for event_id, idx, doc in docs:
                    cur = self._conn.execute(
                        "INSERT OR IGNORE INTO spool (event_id, idx, doc) VALUES (?, ?, ?)",
                        (event_id, idx, doc))
                    out.append(cur.rowcount == 1)
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
        return out

    def pending(self) -> int:
        return self._conn.execute("SELECT count(*) FROM spool").fetchone()[0]

    def head(self, limit: int) -> list[Row]:
        """The oldest spooled events, in the order they were acknowledged."""
        return self._conn.execute(
            "SELECT id, event_id, idx, doc FROM spool ORDER BY id LIMIT ?", (limit,)).fetchall()

    def remove(self, ids: list[int], dead: Sequence[tuple[Row, str]] = ()) -> None:
        """Drop replayed rows; rows ES refused for good move to ``dead_letters`` with the reason."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.executemany(
                    "INSERT OR REPLACE INTO dead_letters (event_id, idx, doc, reason) VALUES (?, ?, ?, ?)",
                    [(r[1], r[2], r[3], reason) for r, reason in dead])
                self._conn.executemany("DELETE FROM spool WHERE id = ?", [(i,) for i in ids])
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise

    def add_dead(self, docs: list[tuple[str, str, str, str]]) -> None:
        """Keep ``(event_id, index, source, reason)`` that ES refused for good."""
        with self._lock:
            self._conn.executemany(
                "INSERT OR REPLACE INTO dead_letters (event_id, idx, doc, reason) VALUES (?, ?, ?, ?)", docs)

    def dead_letters(self) -> list[dict[str, str]]:
        return [{"event_id": e, "index": i, "reason": r} for e, i, r in
                self._conn.execute("SELECT event_id, idx, reason FROM dead_letters ORDER BY event_id")]

    # -- alerts written while ES was away (latest state per alert id) ----------------------------
    def put_alert(self, alert: dict[str, Any], rule_id: str, group_key: str, last_epoch: float) -> None:
        with self._lock:
            self._conn.execute("INSERT OR REPLACE INTO alerts (id, rule_id, group_key, last_epoch, doc) "
                               "VALUES (?, ?, ?, ?, ?)",
                               (alert["id"], rule_id, group_key, last_epoch, jsonl.dumps(alert).decode()))

    def alert(self, alert_id: str) -> dict[str, Any] | None:
        row = self._conn.execute("SELECT doc FROM alerts WHERE id = ?", (alert_id,)).fetchone()
        return jsonl.loads(row[0]) if row else None

    def open_alert(self, rule_id: str, group_key: str, not_before: float) -> dict[str, Any] | None:
        row = self._conn.execute(
            "SELECT doc FROM alerts WHERE rule_id = ? AND group_key = ? AND last_epoch >= ? "
            "ORDER BY last_epoch DESC LIMIT 1", (rule_id, group_key, not_before)).fetchone()
        alert = jsonl.loads(row[0]) if row else None
        return alert if alert and alert.get("status") not in ("resolved", "false_positive") else None

    def alerts(self) -> list[tuple[str, str, float, dict[str, Any]]]:
        """``(rule_id, group_key, last_epoch, alert)`` of every spooled alert."""
        return [(r, g, e, jsonl.loads(d)) for r, g, e, d in self._conn.execute(
            "SELECT rule_id, group_key, last_epoch, doc FROM alerts ORDER BY last_epoch")]

    def remove_alert(self, alert_id: str) -> None:
        with self._lock:
            self._conn.execute("DELETE FROM alerts WHERE id = ?", (alert_id,))

    def close(self) -> None:
        self._conn.close()
