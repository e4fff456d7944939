"""Detection state across restarts: after a crash, a redeploy or another worker taking over,
streaming detection reaches the alerts an uninterrupted run reaches (docs/design/detection-state.md).

Kept in ``<data_dir>/soc.db`` beside the anomaly baselines, in the same transaction as them:
- the detection cursor, per store: the arrival number (``seq``) up to which stored events have
  been through detection, and the latest event time among them;
- every correlation match, reported or not, for two timespans: after a restart a group stays
  quiet as it did, and correlations over correlations get their windows back.

Rebuilt at start from the store: the correlation windows, by putting the stored events of the
last longest timespan of event time back through the base rules (nothing is emitted). Events
stored but never detected (the process died between the store's commit and the cursor) are
detected then, before anything new.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from classifier.sqlitedb import open_db
from soc.anomaly import AnomalyDetector
from soc.detection.match import Match
from soc.detection.streaming import StreamingDetector
from soc.detection.timeutil import event_time
from soc.store.base import EventStore

log = logging.getLogger("shuwei.detection_state")

SCHEMA = """
CREATE TABLE IF NOT EXISTS detection_cursor (
    store TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    latest REAL
);
CREATE TABLE IF NOT EXISTS detection_fires (
    id INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused: "matches after id N" stays true
    store TEXT NOT NULL,
    fired_at REAL NOT NULL,
    match TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS detection_fires_at ON detection_fires(store, fired_at);
"""


@dataclass(frozen=True)
class Cursor:
    seq: int               # arrival number of the last stored event that went through detection
    latest: float | None   # latest event time (UTC epoch) detected so far; None before the first
    fire_id: int           # newest correlation match on record


@dataclass
class Warmup:
    """What the last :meth:`DetectionState.resume` did (the README's warm-up figures)."""

    replayed: int = 0    # stored events put back into the windows
    restored: int = 0    # correlation matches restored
    recovered: int = 0   # stored events that had not been through detection
    seconds: float = 0.0


class DetectionState:
    """The cursor and correlation matches of one store's detection; see the module docstring.

    Callers hold the ingest lock (one process and thread at a time) around :meth:`resume`, the
    batch and :meth:`checkpoint`, as the ingest path does."""

    def __init__(self, db_path: Path, store_key: str, store: EventStore,
                 detector: StreamingDetector | None, anomaly: AnomalyDetector | None) -> None:
        self._db = open_db(db_path, schema=SCHEMA, shared=True)
        self.key, self.store, self.detector, self.anomaly = store_key, store, detector, anomaly
        self._known: Cursor | None = None  # what this process's windows reflect
        self._fired: list[Match] = []
        engine = detector.assembler.engine if detector is not None else None
        if engine is not None:
            engine.on_fire = self._fired.append
        self.span = engine.longest_span if engine is not None else 0.0
        self.last_warmup = Warmup()

    def close(self) -> None:
        self._db.close()

    def _read(self) -> Cursor | None:
        row = self._db.execute("SELECT seq, latest FROM detection_cursor WHERE store = ?",
                               (self.key,)).fetchone()
        if row is None:
            return None
        return Cursor(int(row[0]), row[1], self._last_fire_id())

    def _last_fire_id(self) -> int:
        return int(self._db.execute("SELECT coalesce(max(id), 0) FROM detection_fires WHERE store = ?",
                                    (self.key,)).fetchone()[0])

    # -- start, and another process having detected in between ----------------------------------
    def resume(self, remember: Callable[[dict[str, Any]], None], *,
               upto: int | None = None) -> Iterator[tuple[int, dict[str, Any]]]:
        """Bring this process's detection up to the store; returns the stored events that never
        went through detection, ``(seq, event)`` in arrival order, for the caller to detect now
        (then :meth:`checkpoint`). ``remember`` is given every event put back into the windows
        (alerts name the users and datasets of their events). ``upto``: the store's end as far
        as this caller is concerned (soc/ingest_split.py: later events reach it otherwise)."""
        cursor = self._read()
        if cursor is None:
            # A new store, or one filled before this state was kept: what is stored counts as
            # detected (it was, by the version that stored it); the windows start empty.
            cursor = Cursor(self.store.last_seq() if upto is None else upto, None, 0)
            self._write_cursor(self._db, cursor.seq, None, begin=True)
        known = self._known
        if known == cursor:
            return iter(())
        start = time.perf_counter()
        warm = Warmup()
        since = None if cursor.latest is None else cursor.latest - self.span
        if known is not None:  # another process detected (known.seq, cursor.seq]
            after, fire_after, fired_since = known.seq, known.fire_id, None
            if self.anomaly is not None:
                self.anomaly.forget()
        else:
            after, fire_after = 0, 0
            fired_since = None if since is None else since - self.span
        if self.detector is not None and since is not None:
            engine = self.detector.assembler.engine
            for match in self._fires(fire_after, fired_since):
                engine.restore(match)
                warm.restored += 1
            for _, event in self.store.iter_arrivals(after, upto=cursor.seq, since=since):
                self.detector.warm(event)
                remember(event)
                warm.replayed += 1
        self._known = cursor
        warm.seconds = time.perf_counter() - start
        self.last_warmup = warm
        if known is None and (warm.replayed or warm.restored):
            log.info("detection warm-up: %d stored events replayed, %d correlation matches "
                     "restored in %.1f s", warm.replayed, warm.restored, warm.seconds)
        return self._undetected(cursor.seq, upto)

    def _undetected(self, after: int, upto: int | None) -> Iterator[tuple[int, dict[str, Any]]]:
        for seq, event in self.store.iter_arrivals(after, upto=upto):
            self.last_warmup.recovered += 1
            yield seq, event

    def _fires(self, after_id: int, since: float | None) -> Iterator[Match]:
        q = "SELECT match FROM detection_fires WHERE store = ? AND id > ?"
        args: list[Any] = [self.key, after_id]
        if since is not None:
            q += " AND fired_at >= ?"
            args.append(since)
        for (text,) in self._db.execute(q + " ORDER BY id", args).fetchall():
            yield Match(**json.loads(text))

    # -- after each batch -----------------------------------------------------------------------
    def checkpoint(self, seq: int, latest: float | None) -> None:
        """Events up to arrival ``seq`` have been through detection (their alerts are stored):
        record it with the correlation matches they made and the anomaly baselines, atomically."""
        known = self._known
        if known is not None and known.latest is not None:
            latest = known.latest if latest is None else max(latest, known.latest)
        fired = list(self._fired)
        self._fired.clear()

        def write(db: sqlite3.Connection) -> None:
            if fired:
                db.executemany("INSERT INTO detection_fires (store, fired_at, match) VALUES (?, ?, ?)",
                               [(self.key, _fired_at(m), json.dumps(dataclasses.asdict(m), ensure_ascii=False))
                                for m in fired])
            self._write_cursor(db, seq, latest, begin=False)
            if latest is not None:  # matches older than any window or suppression can reach
                db.execute("DELETE FROM detection_fires WHERE store = ? AND fired_at < ?",
                           (self.key, latest - 2 * self.span))

        if self.anomaly is not None:
            self.anomaly.flush(also=write)
        else:
            with self._db:
                self._db.execute("BEGIN")
                write(self._db)
        self._known = Cursor(seq, latest, self._last_fire_id())

    def _write_cursor(self, db: sqlite3.Connection, seq: int, latest: float | None, *,
                      begin: bool) -> None:
        sql = ("INSERT INTO detection_cursor (store, seq, latest) VALUES (?, ?, ?) ON CONFLICT(store) "
               "DO UPDATE SET seq = excluded.seq, latest = excluded.latest")
        if begin:
            with db:
                db.execute("BEGIN")
                db.execute(sql, (self.key, seq, latest))
        else:
            db.execute(sql, (self.key, seq, latest))


def _fired_at(m: Match) -> float:
    when = event_time({"ts": m.last_seen})
    return when[0] if when is not None else 0.0
