"""Embedded store: events and alerts in <data_dir>/soc.db (SQLite, WAL).

One transaction per batch with ``synchronous=FULL``: when :meth:`SqliteEventStore.append`
returns, the batch is in the fsynced WAL and survives a crash or SIGKILL.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from datetime import datetime, timezone, tzinfo
from pathlib import Path
from typing import Any

import orjson

from classifier import jsonl
from classifier.sqlitedb import open_db
from soc import chain
from soc.integrity import sqlite_log
from soc.integrity.checkpoints import Checkpoint, CheckpointPolicy, IdleTimer, Signing
from soc.store.base import CONTRACT_COLUMNS, ENRICHMENT_COLUMNS, EVENT_COLUMNS, JSON_COLUMNS, SQLITE_SCHEMA
from soc.validate import cached_epoch

DB_NAME = "soc.db"
_ROW_FIELDS = CONTRACT_COLUMNS + ENRICHMENT_COLUMNS + ("extra",)
# ``doc`` is bound as the UTF-8 bytes the chain hashed and stored as TEXT by the CAST (a BLOB cast
# to TEXT is read as text in the database's encoding, UTF-8: the very bytes a str would bind), so
# the row never holds a decoded copy that the sqlite3 module encodes back to UTF-8.
_INSERT = (f"INSERT INTO events ({', '.join(EVENT_COLUMNS)}) "
           f"VALUES ({', '.join('?' * (len(EVENT_COLUMNS) - 2))}, CAST(? AS TEXT), ?)")
_CHUNK = 500  # SQLite host-parameter headroom for IN (...) look-ups


def _dumps(value: Any) -> str:
    return jsonl.dumps(value).decode()


# The chain hashes these bytes, the doc column stores their text.
_dumps_utf8 = jsonl.dumps


_JSON_AT = tuple(i for i, name in enumerate(_ROW_FIELDS) if name in JSON_COLUMNS)
_BOOL_AT = _ROW_FIELDS.index("off_hours")


def _column_values(event: dict[str, Any]) -> tuple[Any, ...]:
    """The per-field columns of one enriched event, as stored (JSON text for arrays/objects)."""
    return tuple(_column_list(event))


def _column_list(event: dict[str, Any]) -> list[Any]:
    out = list(map(event.get, _ROW_FIELDS))
    for i in _JSON_AT:
        value = out[i]
        if value is not None:
            try:  # _dumps inlined: this runs four times per stored event
                out[i] = orjson.dumps(value).decode()
            except orjson.JSONEncodeError:
                out[i] = _dumps(value)
    flag = out[_BOOL_AT]
    if flag is True or flag is False:
        out[_BOOL_AT] = int(flag)
    return out


def ts_epoch(ts: str) -> float:
    epoch = cached_epoch(ts)  # validation parsed it moments ago
    return datetime.fromisoformat(ts).timestamp() if epoch is None else epoch


def connect(path: Path) -> sqlite3.Connection:
    conn = open_db(path, shared=True)
    # Index pages of event_id/user are touched at random by every batch; a 64 MiB cache keeps
    # them in memory at millions of events (SQLite's default is 2 MiB).
    conn.execute("PRAGMA cache_size=-65536")
    conn.executescript(SQLITE_SCHEMA)
    return conn


class SqliteEventStore:
    """EventStore over SQLite; also keeps the SM3 chain (soc/chain.py) in the same transaction,
    and with ``signing`` its signed checkpoints (soc/integrity)."""

    def __init__(self, path: Path, tz: tzinfo = timezone.utc, *, signing: Signing | None = None) -> None:
        self.path = path
        self._tz = tz
        self._conn = connect(path)
        self._lock = threading.Lock()
        self.signing = signing or Signing(None, CheckpointPolicy(), None)
        self._log = (sqlite_log.SqliteCheckpointLog(self._conn, self.signing.key, self.signing.policy,
                                                    self.signing.anchors)
                     if self.signing.key is not None else None)
        self._timer = (IdleTimer(self.signing.policy.seconds, self._idle)
                       if self._log is not None else None)

    @classmethod
    def in_dir(cls, data_dir: Path, tz: tzinfo = timezone.utc, *,
               signing: Signing | None = None) -> SqliteEventStore:
        return cls(data_dir / DB_NAME, tz, signing=signing)

    def checkpoint(self, reason: str = "close") -> Checkpoint | None:
        """Sign what this writer appended since its last checkpoint (idle timer, close)."""
        if self._log is None:
            return None
        with self._lock:
            conn = self._conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                cp = self._log.pending(conn, reason)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            if cp is not None:
                self._log.committed(conn, cp)
        return cp

    def _idle(self) -> None:
        if self._log is not None and self._log.signer.due():
            self.checkpoint("time")

    def close(self) -> None:
        if self._timer is not None:
            self._timer.stop()
        self.checkpoint("close")
        self._conn.close()

    def _existing(self, ids: list[str]) -> set[str]:
        found: set[str] = set()
        for i in range(0, len(ids), _CHUNK):
            part = ids[i:i + _CHUNK]
            q = f"SELECT event_id FROM events WHERE event_id IN ({','.join('?' * len(part))})"
            found.update(r[0] for r in self._conn.execute(q, part))
        return found

    def append(self, events: list[dict[str, Any]]) -> list[bool]:
        return [doc is not None for doc in self.append_docs(events)[0]]

    def append_docs(self, events: list[dict[str, Any]],
                    epochs: list[float] | None = None) -> tuple[list[bytes | None], int]:
        """:meth:`append`, returning each event's stored JSON (None: a duplicate) and the
        ``seq`` of the last one stored: what detection in another process is given
        (soc/ingest_split.py), the very text a restart would read back. ``epochs``: each
        event's ``ts`` as validation parsed it (else read again from ``ts``)."""
        if not events:
            return [], self.last_seq()
        day = datetime.now(self._tz).date().isoformat()
        if epochs is None:
            epochs = [ts_epoch(e["ts"]) for e in events]
        with self._lock:
            try:
                # Resent events are rare: insert straight away and let the UNIQUE index object,
                # rather than looking every event_id up first.
                return self._append(events, epochs, day, check=False)
            except sqlite3.IntegrityError:
                return self._append(events, epochs, day, check=True)

    def _append(self, events: list[dict[str, Any]], epochs: list[float], day: str, *,
                check: bool) -> tuple[list[bytes | None], int]:
        conn = self._conn
        built = None
        if not check:
            # The rows (JSON, columns, SM3 links: 10 of the 25 µs per event) are built before the
            # write lock is taken, so other writers (a detection process, playbooks, another
            # worker) wait for the insert and commit only. Measured on the 100k day with
            # detection in a second process: its busy-handler sleeps 11.5 -> 0.14 s (strace).
            # Linked to the head as it was; if another writer moved it meanwhile, linked again.
            built = _build(events, epochs, _head(conn), set())
        conn.execute("BEGIN IMMEDIATE")
        try:
            head = _head(conn)
            if built is None or built[0] != head:
                seen = self._existing([e["event_id"] for e in events]) if check else set()
                built = _build(events, epochs, head, seen)
            _, rows, stored, seq, prev = built
            first_seq = head[0] + 1
            if rows:
                conn.executemany(_INSERT, rows)
                conn.execute("INSERT INTO chain_head (id, last_seq, head_hash) VALUES (1, ?, ?) "
                             "ON CONFLICT(id) DO UPDATE SET last_seq = excluded.last_seq, "
                             "head_hash = excluded.head_hash", (seq, prev))
                conn.execute("INSERT INTO chain_checkpoints (day, first_seq, last_seq, head_hash) "
                             "VALUES (?, ?, ?, ?) ON CONFLICT(day) DO UPDATE SET "
                             "last_seq = excluded.last_seq, head_hash = excluded.head_hash",
                             (day, first_seq, seq, prev))
            signed = self._log.added(conn, len(rows), seq, prev) if self._log is not None else None
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        if signed is not None:
            self._log.committed(conn, signed)  # type: ignore[union-attr]  # signed implies a log
        return stored, seq

    def iter_events(self, *, since: datetime | None = None, until: datetime | None = None,
                    action: str | None = None) -> Iterator[dict[str, Any]]:
        where: list[str] = []
        args: list[Any] = []
        if action is not None:
            where.append("action = ?")  # the column's NOCASE collation: the events_action index
            args.append(action)
        if since is not None:
            where.append("ts_epoch >= ?")
            args.append(since.timestamp())
        if until is not None:
            where.append("ts_epoch < ?")
            args.append(until.timestamp())
        q = "SELECT doc FROM events" + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY seq"
        cur = self._conn.cursor()
        cur.execute(q, args)
        while batch := cur.fetchmany(2000):
            for (doc,) in batch:
                yield json.loads(doc)

    def last_seq(self) -> int:
        """Arrival number of the newest stored event, 0 when there is none."""
        return int(self._conn.execute("SELECT coalesce(max(seq), 0) FROM events").fetchone()[0])

    def iter_arrivals(self, after: int, *, upto: int | None = None,
                      since: float | None = None) -> Iterator[tuple[int, dict[str, Any]]]:
        """``(seq, event)`` of the events that arrived after ``after`` (up to ``upto``) with a
        ``ts`` at or after the epoch ``since``, in arrival order (detection state, restarts)."""
        q, args = "SELECT seq, doc FROM events WHERE seq > ?", [after]
        if upto is not None:
            q += " AND seq <= ?"
            args.append(upto)
        if since is not None:
            q += " AND ts_epoch >= ?"
            args.append(since)  # type: ignore[arg-type]  # a float bound beside the int ones
        cur = self._conn.cursor()
        cur.execute(q + " ORDER BY seq", args)
        while batch := cur.fetchmany(2000):
            for seq, doc in batch:
                yield seq, json.loads(doc)

    def count(self) -> int:
        return self._conn.execute("SELECT count(*) FROM events").fetchone()[0]

    def count_before(self, before: datetime) -> int:
        return self._conn.execute("SELECT count(*) FROM events WHERE ts_epoch < ?",
                                  (before.timestamp(),)).fetchone()[0]

    def purge(self, before: datetime, *, audit_event_id: str = "") -> int:
        """Delete events older than ``before``; each purged run of the chain leaves its last hash
        in ``chain_purges`` (tagged with the purge's own audit event) so verify still links."""
        cutoff = before.timestamp()
        with self._lock:
            conn = self._conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                runs: list[tuple[int, int, int, str]] = []
                run: list[Any] | None = None
                for seq, old, chain_hash in conn.execute(
                        "SELECT seq, ts_epoch < ?, chain_hash FROM events ORDER BY seq", (cutoff,)):
                    if old:
                        if run is None:
                            run = [seq, seq, 0, chain_hash]
                        run[1], run[2], run[3] = seq, run[2] + 1, chain_hash
                    elif run is not None:
                        runs.append(tuple(run))
                        run = None
                if run is not None:
                    runs.append(tuple(run))
                conn.executemany("INSERT INTO chain_purges (first_seq, last_seq, count, last_hash, "
                                 "purge_event_id) VALUES (?, ?, ?, ?, ?)",
                                 [r + (audit_event_id,) for r in runs])
                deleted = conn.execute("DELETE FROM events WHERE ts_epoch < ?", (cutoff,)).rowcount
                signed = self._log.purged(conn, runs) if self._log is not None and runs else None
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            if signed is not None:
                self._log.committed(conn, signed)  # type: ignore[union-attr]
        return deleted

    def verify(self, anchors: Path | None = None) -> chain.VerifyReport:
        """Check every link of the chain, the signed checkpoints, the purges, the head and, with
        ``anchors`` (default ``soc.anchors``), that the store still reaches every anchored checkpoint."""
        conn = self._conn
        head = conn.execute("SELECT last_seq, head_hash FROM chain_head").fetchone()
        checkpoints = list(conn.execute("SELECT day, last_seq, head_hash FROM chain_checkpoints ORDER BY day"))
        cols = ("seq", "event_id", "ts", "ts_epoch") + _ROW_FIELDS + ("doc", "chain_hash")
        cur = conn.cursor()
        cur.execute(f"SELECT {', '.join(cols)} FROM events ORDER BY seq")

        def rows() -> Iterator[chain.ChainRow]:
            while batch := cur.fetchmany(2000):
                for r in batch:
                    yield _chain_row(r)
        return sqlite_log.verify(conn, self.signing.key, anchors or self.signing.anchors, self.signing.policy,
                                 rows, tuple(head) if head else None, checkpoints)


def _head(conn: sqlite3.Connection) -> tuple[int, str]:
    head = conn.execute("SELECT last_seq, head_hash FROM chain_head").fetchone()
    return (int(head[0]), str(head[1])) if head else (0, chain.GENESIS)


def _build(events: list[dict[str, Any]], epochs: list[float], head: tuple[int, str], seen: set[str],
           ) -> tuple[tuple[int, str], list[list[Any]], list[bytes | None], int, str]:
    """The rows of ``events`` (their ``ts`` epochs in ``epochs``) chained after ``head`` (events
    whose id is in ``seen`` skipped): ``(head, rows, stored JSON or None per event, last seq,
    last hash)``."""
    seq, prev = head
    stored: list[bytes | None] = []
    rows = []
    link = chain.link_utf8
    for event, epoch in zip(events, epochs):
        eid = event["event_id"]
        if eid in seen:
            stored.append(None)
            continue
        seen.add(eid)
        seq += 1
        doc = _dumps_utf8(event)  # serialised once: hashed and stored as these bytes (_INSERT)
        prev = link(prev, doc)
        row = [seq, eid, event["ts"], epoch]  # one list per row: fewer objects for the GC
        row += _column_list(event)
        row += (doc, prev)
        rows.append(row)
        stored.append(doc)
    return head, rows, stored, seq, prev


def _chain_row(r: tuple[Any, ...]) -> chain.ChainRow:
    seq, event_id, ts, epoch, *columns, doc, chain_hash = r
    bad = None
    try:
        event = json.loads(doc)
        expected = (event.get("event_id"), event.get("ts"), ts_epoch(event["ts"])) + _column_values(event)
        got = (event_id, ts, epoch) + tuple(columns)
        if expected != got:
            names = ("event_id", "ts", "ts_epoch") + _ROW_FIELDS
            bad = next(n for n, a, b in zip(names, expected, got) if a != b)
    except (ValueError, KeyError, TypeError):
        bad = "doc"
    return chain.ChainRow(seq, event_id, doc, chain_hash, bad is None, bad)


class SqliteAlertStore:
    """AlertStore over the ``alerts`` table of the same database file."""

    def __init__(self, path: Path) -> None:
        self._conn = connect(path)
        self._lock = threading.Lock()
        self._writes = 0

    @classmethod
    def in_dir(cls, data_dir: Path) -> SqliteAlertStore:
        return cls(data_dir / DB_NAME)

    def close(self) -> None:
        self._conn.close()

    # The connection is shared by the ingest, playbook and service threads (open_db(shared=True):
    # the caller serialises access), so reads take the lock as writes do: a statement of one
    # thread stepping while another writes on the same connection holds its read snapshot open.
    def find_open(self, rule_id: str, group_key: str, not_before: float) -> dict[str, Any] | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT doc FROM alerts WHERE rule_id = ? AND group_key = ? AND last_epoch >= ? "
                "AND status NOT IN ('resolved', 'false_positive') ORDER BY last_epoch DESC LIMIT 1",
                (rule_id, group_key, not_before)).fetchone()
        return json.loads(row[0]) if row else None

    def generation(self) -> tuple[int, int]:
        """Changes when any alert changed: this connection's writes, and SQLite's ``data_version``
        (bumped by commits of every other connection — other workers, the CLI). Lets a reader keep
        decoded alerts until then (the console's list)."""
        with self._lock:
            return self._writes, int(self._conn.execute("PRAGMA data_version").fetchone()[0])

    def documents(self) -> list[tuple[str, str]]:
        """``(id, JSON text)`` of every alert, newest first: a reader keeping decoded copies decodes
        only the documents whose text changed."""
        with self._lock:
            return self._conn.execute("SELECT id, doc FROM alerts ORDER BY last_epoch DESC, id").fetchall()

    def put(self, alert: dict[str, Any], *, rule_id: str, group_key: str, last_epoch: float) -> None:
        with self._lock:
            self._writes += 1
            self._conn.execute(
                "INSERT INTO alerts (id, rule_id, group_key, status, severity, first_seen, last_seen, "
                "last_epoch, doc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET "
                "status = excluded.status, severity = excluded.severity, last_seen = excluded.last_seen, "
                "last_epoch = excluded.last_epoch, doc = excluded.doc",
                (alert["id"], rule_id, group_key, alert["status"], alert["severity"],
                 alert["first_seen"], alert["last_seen"], last_epoch, _dumps(alert)))

    def get(self, alert_id: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._conn.execute("SELECT doc FROM alerts WHERE id = ?", (alert_id,)).fetchone()
        return json.loads(row[0]) if row else None

    def list(self, *, status: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        q, args = "SELECT doc FROM alerts", list[Any]()
        if status is not None:
            q += " WHERE status = ?"
            args.append(status)
        q += " ORDER BY last_epoch DESC, id"
        if limit is not None:
            q += " LIMIT ?"
            args.append(limit)
        # orjson: the console lists every alert per page view (10,000 docs: ~4x faster than json).
        with self._lock:
            rows = self._conn.execute(q, args).fetchall()
        return [orjson.loads(r[0]) for r in rows]

