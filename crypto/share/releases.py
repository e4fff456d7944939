"""The release ledger (事中全留痕): one durable row per call that releases records — who received
which fields under which strategies, how many rows, and the watermark parameters — never the
released values. Recorded before the data goes out; the ``mask`` / ``export`` audit event names it
in ``extra.release_id``."""

from __future__ import annotations

import json
import secrets
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from crypto.share.db import connect, db_path


@dataclass(frozen=True)
class Release:
    release_id: str
    dataset: str
    caller: dict[str, str | None]  # user, role, org, purpose, approval_id
    at: str
    rows: int
    fields: dict[str, str]  # field → strategy
    watermark: dict[str, Any] | None  # {method, key_id, version}

    def to_dict(self) -> dict[str, Any]:
        return {"release_id": self.release_id, "dataset": self.dataset, "caller": dict(self.caller),
                "at": self.at, "rows": self.rows, "fields": dict(self.fields), "watermark": self.watermark}


def new_release_id() -> str:
    return "rel-" + secrets.token_hex(8)


def record(data_dir: Path, *, dataset: str, user: str, role: str, org: str | None, purpose: str | None,
           approval_id: str | None, rows: int, fields: dict[str, str], now: datetime,
           watermark: dict[str, Any] | None = None, release_id: str | None = None) -> Release:
    """Store one release (committed with ``synchronous=FULL`` before this returns)."""
    rel = Release(release_id or new_release_id(), dataset,
                  {"user": user, "role": role, "org": org, "purpose": purpose, "approval_id": approval_id},
                  now.isoformat(timespec="milliseconds"), rows, dict(fields), watermark)
    with connect(data_dir) as conn:
        conn.execute("INSERT INTO releases VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                     (rel.release_id, dataset, user, role, org, purpose, approval_id, rel.at, rows,
                      json.dumps(rel.fields, ensure_ascii=False),
                      json.dumps(watermark) if watermark is not None else None))
    return rel


def _row(r: sqlite3.Row) -> Release:
    return Release(r["release_id"], r["dataset"],
                   {k: r[k] for k in ("user", "role", "org", "purpose", "approval_id")},
                   r["at"], r["rows"], json.loads(r["fields"]),
                   json.loads(r["watermark"]) if r["watermark"] is not None else None)


def list_releases(data_dir: Path, *, dataset: str | None = None, org: str | None = None,
                  since: datetime | None = None) -> list[Release]:
    """Releases in time order; ``since`` compares instants (offsets honoured)."""
    if not db_path(data_dir).exists():
        return []
    with connect(data_dir) as conn:
        rows = conn.execute("SELECT * FROM releases WHERE (? IS NULL OR dataset = ?) AND (? IS NULL OR org = ?) "
                            "ORDER BY at, release_id", (dataset, dataset, org, org)).fetchall()
    out = [_row(r) for r in rows]
    if since is not None:
        out = [r for r in out if datetime.fromisoformat(r.at) >= since]
    return out


def get(data_dir: Path, release_id: str) -> Release | None:
    if not db_path(data_dir).exists():
        return None
    with connect(data_dir) as conn:
        r = conn.execute("SELECT * FROM releases WHERE release_id = ?", (release_id,)).fetchone()
    return _row(r) if r else None
