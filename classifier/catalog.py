"""The classification catalog: every scan kept with its time, owner reviews, drift.

SQLite at ``<data_dir>/catalog.db`` (WAL), read by crypto (masking decisions) and soc (enrichment).
A reviewed value wins over later automatic scans; a later scan that disagrees with a review is
reported by :meth:`Catalog.drift`, never applied silently.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from classifier import audit
from classifier.errors import InputError
from classifier.policy import ENTITY_IDS, GRADES, Policy
from classifier.settings import Settings
from classifier.sqlitedb import open_db

CATALOG_NAME = "catalog.db"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS scans (
    id INTEGER PRIMARY KEY,
    dataset TEXT NOT NULL,
    source TEXT NOT NULL,
    scanned_at TEXT NOT NULL,
    full INTEGER NOT NULL,
    fingerprint TEXT NOT NULL,      -- JSON: size/mtime/sha256 or row count/max key
    report TEXT NOT NULL            -- JSON: the contract object as the scan found it, plus profiles
);
CREATE INDEX IF NOT EXISTS scans_dataset ON scans(dataset, id);
CREATE TABLE IF NOT EXISTS reviews (
    id INTEGER PRIMARY KEY,
    dataset TEXT NOT NULL,
    column_name TEXT NOT NULL,
    scan_id INTEGER NOT NULL REFERENCES scans(id),
    reviewed_at TEXT NOT NULL,
    reviewer TEXT NOT NULL,
    comment TEXT NOT NULL,
    accepted INTEGER NOT NULL,
    entity TEXT,
    grade TEXT NOT NULL,
    scanned_entity TEXT,            -- what the reviewed scan had found
    scanned_grade TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS reviews_column ON reviews(dataset, column_name, id);
"""


@dataclass(frozen=True)
class FieldGrade:
    """What consumers need of one field; ``reviewed`` = an owner's review decided it."""

    entity: str | None
    grade: str
    category: str | None
    reviewed: bool
    embedded: tuple[str, ...] = ()  # entities found inside text values (free text is masked per span)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


class Catalog:
    """One SQLite catalog; safe to share between threads of one process."""

    def __init__(self, path: Path, policy: Policy, data_dir: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.policy = policy
        self._data_dir = data_dir
        self._lock = threading.RLock()
        self._db = open_db(path, schema=_SCHEMA, shared=True)
        self._db.row_factory = sqlite3.Row
        have = {r[1] for r in self._db.execute("PRAGMA table_info(reviews)")}
        for column, decl in (("scanned_entity", "TEXT"), ("scanned_grade", "TEXT NOT NULL DEFAULT 'L1'")):
            if column not in have:  # catalogs created by the first schema version
                self._db.execute(f"ALTER TABLE reviews ADD COLUMN {column} {decl}")

    @classmethod
    def open(cls, settings: Settings) -> Catalog:
        data_dir = settings.ensure_data_dir()
        return cls(data_dir / CATALOG_NAME, Policy.from_settings(settings), data_dir)

    def close(self) -> None:
        self._db.close()

    # -- writing -------------------------------------------------------------------------------
    def _normalise(self, rep: dict[str, Any]) -> dict[str, Any]:
        """Fill what a hand-built report (seeding, imports) leaves out, so every reader sees the contract shape."""
        columns = []
        for col in rep["columns"]:
            grade, category = self.policy.entity_grade(col.get("entity"), rep["dataset"])
            columns.append({"name": col["name"], "entity": col.get("entity"),
                            "category": col.get("category", category), "grade": col.get("grade", grade),
                            "confidence": col.get("confidence"), "hit_ratio": col.get("hit_ratio"),
                            "evidence": col.get("evidence", []), "reasons": col.get("reasons", []),
                            **{k: v for k, v in col.items() if k not in ("name", "entity", "category", "grade")}})
        grade, _ = self.policy.dataset_grade([(c["entity"], c["grade"]) for c in columns])
        rows_total = rep.get("rows_total")
        return {"grade": grade, "rows_scanned": rows_total, "rows_total": rows_total,
                "important_data_candidate": self.policy.important_data_candidate(grade, rows_total),
                **rep, "columns": columns}

    def record_scans(self, reports: list[dict[str, Any]]) -> list[int]:
        """Store finished scans in ONE transaction: either every dataset is recorded or none."""
        ids: list[int] = []
        reports = [self._normalise(r) for r in reports]
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for rep in reports:
                    cur = self._db.execute(
                        "INSERT INTO scans(dataset, source, scanned_at, full, fingerprint, report)"
                        " VALUES (?,?,?,?,?,?)",
                        (rep["dataset"], rep["source"], rep.get("scanned_at") or _now(),
                         int(bool(rep.get("full"))), json.dumps(rep.get("fingerprint") or {}),
                         json.dumps(rep, ensure_ascii=False)))
                    assert cur.lastrowid is not None  # set by every INSERT
                    ids.append(cur.lastrowid)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return ids

    def review(self, dataset: str, column: str, *, reviewer: str, comment: str, accept: bool = False,
               entity: str | None = None, grade: str | None = None) -> dict[str, Any]:
        """Accept the latest scan's finding, or override entity and grade; the reviewed value wins."""
        if not reviewer.strip() or not comment.strip():
            raise InputError(f"{dataset}.{column}", "a review needs a reviewer name and a comment")
        scan = self._latest_scan(dataset)
        if scan is None:
            raise InputError(dataset, "unknown dataset (scan it first)")
        col = next((c for c in scan["report"]["columns"] if c["name"] == column), None)
        if col is None:
            raise InputError(f"{dataset}.{column}", "no such column in the latest scan")
        if accept:
            if entity is not None or grade is not None:
                raise InputError(f"{dataset}.{column}", "use either --accept or --entity/--grade")
            entity, grade = col["entity"], col["grade"]
        else:
            if grade is None:
                raise InputError(f"{dataset}.{column}", "an override needs a grade (L1..L4)")
            if entity is not None and entity.lower() in ("null", "none", ""):
                entity = None
            if entity is not None and entity not in ENTITY_IDS:
                raise InputError(f"{dataset}.{column}", f"unknown entity '{entity}'")
            if grade not in GRADES:
                raise InputError(f"{dataset}.{column}", f"unknown grade '{grade}' (use L1..L4)")
        row = {"dataset": dataset, "column": column, "scan_id": scan["id"], "reviewed_at": _now(),
               "reviewer": reviewer, "comment": comment, "accepted": accept, "entity": entity,
               "grade": grade}
        with self._lock:
            self._db.execute(
                "INSERT INTO reviews(dataset, column_name, scan_id, reviewed_at, reviewer, comment,"
                " accepted, entity, grade, scanned_entity, scanned_grade)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (dataset, column, scan["id"], row["reviewed_at"], reviewer, comment, int(accept),
                 entity, grade, col["entity"], col["grade"]))
        audit.emit(audit.make_event(
            "classify_review", user=reviewer, dataset=dataset, fields=[column],
            extra={"operation": "accept" if accept else "override", "entity": entity, "grade": grade,
                   "scanned_entity": col["entity"], "scanned_grade": col["grade"]}), self._data_dir)
        return row

    # -- reading -------------------------------------------------------------------------------
    def _latest_scan(self, dataset: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM scans WHERE dataset=? ORDER BY id DESC LIMIT 1",
                                   (dataset,)).fetchone()
        if row is None:
            return None
        return {"id": row["id"], "scanned_at": row["scanned_at"], "source": row["source"],
                "fingerprint": json.loads(row["fingerprint"]), "report": json.loads(row["report"])}

    def latest_fingerprint(self, dataset: str, source: str) -> dict[str, Any] | None:
        scan = self._latest_scan(dataset)
        if scan is None or scan["source"] != source:
            return None
        fingerprint: dict[str, Any] = scan["fingerprint"]
        return fingerprint

    def _reviews(self, dataset: str) -> dict[str, sqlite3.Row]:
        with self._lock:
            rows = self._db.execute("SELECT * FROM reviews WHERE dataset=? ORDER BY id",
                                    (dataset,)).fetchall()
        return {r["column_name"]: r for r in rows}  # the latest review per column wins

    def effective(self, dataset: str) -> dict[str, Any] | None:
        """The latest scan with reviews applied: the contract object plus per-column review/drift."""
        scan = self._latest_scan(dataset)
        if scan is None:
            return None
        reviews = self._reviews(dataset)
        report = dict(scan["report"])
        columns = []
        for col in report["columns"]:
            col = dict(col)
            rev = reviews.get(col["name"])
            col["reviewed"] = rev is not None
            col["drift"] = False
            if rev is not None:
                scanned = (col["entity"], col["grade"])
                col["scanned_entity"], col["scanned_grade"] = scanned
                col["entity"], col["grade"] = rev["entity"], rev["grade"]
                col["category"] = self.policy.entity_grade(rev["entity"], dataset)[1]
                col["review"] = {"reviewer": rev["reviewer"], "comment": rev["comment"],
                                 "reviewed_at": rev["reviewed_at"], "accepted": bool(rev["accepted"])}
                # Drift: a scan after the review found something the reviewer has not seen.
                col["drift"] = (scan["id"] > rev["scan_id"]
                                and scanned != (rev["entity"], rev["grade"])
                                and scanned != (rev["scanned_entity"], rev["scanned_grade"]))
            columns.append(col)
        grade, _ = self.policy.dataset_grade([(c["entity"], c["grade"]) for c in columns])
        report["columns"] = columns
        report["grade"] = grade
        report["important_data_candidate"] = self.policy.important_data_candidate(
            grade, report.get("rows_total"))
        report["scanned_at"] = scan["scanned_at"]
        report["scan_id"] = scan["id"]
        return report

    def field_grades(self, dataset: str) -> dict[str, FieldGrade] | None:
        """Grade per field, reviewed values winning; ``None`` when the dataset was never scanned."""
        eff = self.effective(dataset)
        if eff is None:
            return None
        return {c["name"]: FieldGrade(c["entity"], c["grade"], c["category"], c["reviewed"],
                                      tuple(e["entity"] for e in c.get("embedded") or ()))
                for c in eff["columns"]}

    def dataset_grade(self, dataset: str) -> str | None:
        eff = self.effective(dataset)
        return None if eff is None else eff["grade"]

    def list_datasets(self) -> list[dict[str, Any]]:
        with self._lock:
            names = [r[0] for r in self._db.execute(
                "SELECT dataset FROM scans GROUP BY dataset ORDER BY dataset")]
        out = []
        for name in names:
            eff = self.effective(name)
            assert eff is not None
            out.append({"dataset": name, "source": eff["source"], "grade": eff["grade"],
                        "important_data_candidate": eff["important_data_candidate"],
                        "columns": len(eff["columns"]),
                        "sensitive_columns": sum(c["grade"] in ("L3", "L4") for c in eff["columns"]),
                        "reviewed_columns": sum(c["reviewed"] for c in eff["columns"]),
                        "drift": sum(c["drift"] for c in eff["columns"]),
                        "rows_total": eff.get("rows_total"), "scanned_at": eff["scanned_at"]})
        return out

    def show(self, dataset: str) -> dict[str, Any] | None:
        """The effective classification plus the scan history (every scan kept with its time)."""
        eff = self.effective(dataset)
        if eff is None:
            return None
        with self._lock:
            rows = self._db.execute(
                "SELECT id, scanned_at, full, report FROM scans WHERE dataset=? ORDER BY id",
                (dataset,)).fetchall()
        eff["history"] = [{"scan_id": r["id"], "scanned_at": r["scanned_at"], "full": bool(r["full"]),
                           "grade": json.loads(r["report"])["grade"]} for r in rows]
        return eff

    def drift(self) -> list[dict[str, Any]]:
        """Reviewed columns whose latest automatic scan disagrees with the review."""
        out = []
        for ds in self.list_datasets():
            eff = self.effective(ds["dataset"])
            assert eff is not None
            for col in eff["columns"]:
                if col["drift"]:
                    out.append({"dataset": ds["dataset"], "column": col["name"],
                                "reviewed_entity": col["entity"], "reviewed_grade": col["grade"],
                                "scanned_entity": col["scanned_entity"],
                                "scanned_grade": col["scanned_grade"],
                                "reviewer": col["review"]["reviewer"],
                                "reviewed_at": col["review"]["reviewed_at"],
                                "scanned_at": eff["scanned_at"]})
        return out
