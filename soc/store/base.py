"""What every SOC store provides (SQLite embedded, Elasticsearch scale-out), and the SQLite schema.

The pipeline, the hunt and the service talk to these protocols only, so a store can be swapped
by the ``soc.store`` setting. Events are contract-shaped dicts (docs/spec/audit-event.md) after
enrichment; alerts are the contract's alert objects plus ``history``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

# Contract fields that get their own column, in table order (interfaces.md pins this schema;
# the detection engineer's sqlite hunt queries these column names).
CONTRACT_COLUMNS: tuple[str, ...] = (
    "source", "user", "role", "org", "src_ip", "action", "target_user", "dataset", "fields",
    "rows", "bytes", "result", "dest", "approval_id", "purpose", "session_id", "user_agent",
)
ENRICHMENT_COLUMNS: tuple[str, ...] = ("data_level", "sensitive_fields", "categories", "off_hours")
# Columns whose value is JSON text (arrays / objects).
JSON_COLUMNS: frozenset[str] = frozenset({"fields", "sensitive_fields", "categories", "extra"})

EVENT_COLUMNS: tuple[str, ...] = (
    ("seq", "event_id", "ts", "ts_epoch") + CONTRACT_COLUMNS + ENRICHMENT_COLUMNS
    + ("extra", "doc", "chain_hash")
)

# Text columns compare case-insensitively, as Sigma does by default (field notes: the sqlite
# backend emits `=` which honours the column collation).
SQLITE_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY,
    event_id TEXT UNIQUE NOT NULL,
    ts TEXT COLLATE NOCASE,
    ts_epoch REAL,
    source TEXT COLLATE NOCASE,
    user TEXT COLLATE NOCASE,
    role TEXT COLLATE NOCASE,
    org TEXT COLLATE NOCASE,
    src_ip TEXT COLLATE NOCASE,
    action TEXT COLLATE NOCASE,
    target_user TEXT COLLATE NOCASE,
    dataset TEXT COLLATE NOCASE,
    fields TEXT COLLATE NOCASE,
    rows INTEGER,
    bytes INTEGER,
    result TEXT COLLATE NOCASE,
    dest TEXT COLLATE NOCASE,
    approval_id TEXT COLLATE NOCASE,
    purpose TEXT COLLATE NOCASE,
    session_id TEXT COLLATE NOCASE,
    user_agent TEXT COLLATE NOCASE,
    data_level TEXT COLLATE NOCASE,
    sensitive_fields TEXT COLLATE NOCASE,
    categories TEXT COLLATE NOCASE,
    off_hours INTEGER,
    extra TEXT COLLATE NOCASE,
    doc TEXT NOT NULL,
    chain_hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_ts ON events(ts_epoch);
CREATE INDEX IF NOT EXISTS events_action ON events(action);
-- ts_epoch serves the time windows (iter_events, purge, detection-state warm-up); action the
-- sqlite hunt (the pack's rules test rare actions: 1.42M events, 29.2 CPU-s without it, 12.8
-- with it alone; ~10 distinct values, so its keys arrive near-sorted and cost ingest ~1 µs per
-- event). The user/dataset indexes of earlier versions served no query (the console, evidence
-- and anomaly warm-up filter in Python; the hunt was no faster with them) yet cost ingest ~4 µs
-- (100k) to ~8 µs (1M day) per event in random B-tree upkeep (README, SOC section, 2026-12-02):
-- stores made before are relieved of them here.
DROP INDEX IF EXISTS events_user;
DROP INDEX IF EXISTS events_dataset;

-- SM3 hash chain bookkeeping (soc/chain.py): the global head, one checkpoint per arrival day,
-- and the hash left behind by each purged run of events so the chain stays verifiable.
CREATE TABLE IF NOT EXISTS chain_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    last_seq INTEGER NOT NULL,
    head_hash TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS chain_checkpoints (
    day TEXT PRIMARY KEY,
    first_seq INTEGER NOT NULL,
    last_seq INTEGER NOT NULL,
    head_hash TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS chain_purges (
    first_seq INTEGER PRIMARY KEY,
    last_seq INTEGER NOT NULL,
    count INTEGER NOT NULL,
    last_hash TEXT NOT NULL,
    purge_event_id TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS alerts (
    id TEXT PRIMARY KEY,
    rule_id TEXT NOT NULL,
    group_key TEXT NOT NULL,
    status TEXT NOT NULL,
    severity TEXT NOT NULL,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    last_epoch REAL NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS alerts_group ON alerts(rule_id, group_key, last_epoch);
CREATE INDEX IF NOT EXISTS alerts_status ON alerts(status);
"""


@runtime_checkable
class EventStore(Protocol):
    """Append-only, idempotent store of enriched events in arrival order."""

    def append(self, events: list[dict[str, Any]]) -> list[bool]:
        """Store a batch in one transaction; True = stored, False = duplicate ``event_id``.

        Durable when it returns: the caller acknowledges only afterwards.
        """

    def iter_events(self, *, since: datetime | None = None, until: datetime | None = None,
                    action: str | None = None) -> Iterator[dict[str, Any]]:
        """Stored events (enriched docs) in arrival order, optionally limited by ``ts`` and to one
        ``action`` (case-insensitive, as Sigma matches it; indexed, so a rare action is cheap)."""

    def last_seq(self) -> int:
        """Arrival number of the newest stored event (0 when none): detection's cursor."""

    def iter_arrivals(self, after: int, *, upto: int | None = None,
                      since: float | None = None) -> Iterator[tuple[int, dict[str, Any]]]:
        """``(seq, event)`` arrived after ``after`` (up to ``upto``), ``ts`` at or after the
        epoch ``since``, in arrival order: what a restart replays (soc/detection_state.py)."""

    def count(self) -> int:
        ...

    def purge(self, before: datetime, *, audit_event_id: str = "") -> int:
        """Delete events with ``ts`` before ``before``; returns how many (retention).

        ``audit_event_id`` is the already-stored audit event recording this purge; a store that
        keeps a hash chain files the purged runs under it so the chain stays verifiable."""


@runtime_checkable
class AlertStore(Protocol):
    """Alerts as the contract shapes them, plus ``history`` of every change."""

    def find_open(self, rule_id: str, group_key: str, not_before: float) -> dict[str, Any] | None:
        """The latest alert of this rule and group seen at or after ``not_before`` (UTC epoch),
        to which a new match is grouped; None starts a new alert."""

    def put(self, alert: dict[str, Any], *, rule_id: str, group_key: str, last_epoch: float) -> None:
        """Insert or replace one alert (by ``id``), durably."""

    def get(self, alert_id: str) -> dict[str, Any] | None:
        ...

    def list(self, *, status: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        """Newest first by ``last_seen``; every match unless ``limit`` is given."""
