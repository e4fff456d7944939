"""不适用 (not applicable): a judgement only a compliance officer records, with a reason.

Kept in the evidence catalog ``<data_dir>/evidence.db`` (one row per 测评项, the latest wins, the
history stays) and audited (``config_change``, ``extra.operation = evidence_not_applicable`` or
``evidence_applicable``). Never a default: an item without a row is judged from its evidence.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from classifier import audit
from classifier.sqlitedb import open_db

DB_NAME = "evidence.db"
SCHEMA = """CREATE TABLE IF NOT EXISTS not_applicable (
  id INTEGER PRIMARY KEY AUTOINCREMENT, item TEXT NOT NULL, applicable INTEGER NOT NULL,
  reason TEXT NOT NULL, recorded_by TEXT NOT NULL, recorded_at TEXT NOT NULL)"""


@dataclass(frozen=True)
class NotApplicable:
    item: str
    reason: str
    recorded_by: str
    recorded_at: str


def _connect(data_dir: Path) -> sqlite3.Connection:
    return open_db(data_dir / DB_NAME, schema=SCHEMA)


def record(data_dir: Path, item: str, *, reason: str, by: str, applicable: bool = False,
           now: datetime | None = None) -> None:
    """Mark ``item`` 不适用 (or, with ``applicable``, withdraw that); the reason is required."""
    if not reason.strip() or not by.strip():
        raise ValueError("a reason and who records it (--by) are required")
    at = (now or datetime.now(timezone.utc)).isoformat(timespec="seconds")
    conn = _connect(data_dir)
    try:
        with conn:
            conn.execute("INSERT INTO not_applicable (item, applicable, reason, recorded_by, recorded_at) "
                         "VALUES (?, ?, ?, ?, ?)", (item, int(applicable), reason.strip(), by.strip(), at))
    finally:
        conn.close()
    audit.emit(audit.make_event("config_change", user=by, extra={
        "operation": "evidence_applicable" if applicable else "evidence_not_applicable",
        "item": item, "reason": reason.strip()}), data_dir)


def current(data_dir: Path) -> dict[str, NotApplicable]:
    """Items whose latest record says 不适用."""
    if not (data_dir / DB_NAME).exists():
        return {}
    conn = _connect(data_dir)
    try:
        rows = conn.execute("SELECT item, applicable, reason, recorded_by, recorded_at FROM not_applicable "
                            "ORDER BY id").fetchall()
    finally:
        conn.close()
    latest = {r[0]: r for r in rows}
    return {item: NotApplicable(item, r[2], r[3], r[4]) for item, r in latest.items() if not r[1]}
