"""Behavioural detectors beside Sigma: each user is compared with their own history.

Per-user state (first/last seen, L4 datasets touched, hourly volume baseline) lives in the
``anomaly_users`` table of soc.db so baselines survive restarts; findings come out as the same
:class:`Match` Sigma rules produce, with rule ids ``anomaly.volume``, ``anomaly.first_l4_access``
and ``anomaly.dormant_account``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from classifier import jsonl
from classifier.sqlitedb import open_db
from soc.anomaly.config import AnomalyConfig
from soc.detection.match import Match

_SCHEMA = "CREATE TABLE IF NOT EXISTS anomaly_users (user TEXT PRIMARY KEY, state TEXT NOT NULL)"
DAY = 86400.0


def _new_state() -> dict[str, Any]:
    return {"first": None, "last": None, "l4": [], "hour": None, "cur": {}, "n": 0, "sum": {},
            "alerted_hour": None}


class AnomalyDetector:
    """Streaming: ``process(event, ts_epoch)`` per event, ``flush()`` once per stored batch."""

    def __init__(self, cfg: AnomalyConfig, db_path: Path,
                 dataset_level: Callable[[str], str | None] | None = None) -> None:
        """``dataset_level`` gives a dataset's catalog grade: "an L4 dataset" is the dataset's
        grade, not the level of the fields one event happened to touch."""
        self.cfg = cfg
        self._dataset_level = dataset_level
        self._db = open_db(db_path, schema=_SCHEMA, shared=True)
        self._users: dict[str, dict[str, Any]] = {}
        self._dirty: set[str] = set()

    def close(self) -> None:
        self.flush()
        self._db.close()

    def _state(self, user: str) -> dict[str, Any]:
        st = self._users.get(user)
        if st is None:
            row = self._db.execute("SELECT state FROM anomaly_users WHERE user = ?", (user,)).fetchone()
            st = jsonl.loads(row[0]) if row else _new_state()
            self._users[user] = st
        return st

    def flush(self, also: Callable[[sqlite3.Connection], None] | None = None) -> None:
        """Persist the users touched since the last flush (one transaction); ``also`` writes
        in the same transaction (the detection cursor: baselines and cursor move together)."""
        if not self._dirty and also is None:
            return
        # orjson (jsonl.dumps): the stdlib encoder was 17 µs of every ingested event here
        rows = [(u, jsonl.dumps(self._users[u]).decode()) for u in self._dirty]
        with self._db:
            self._db.execute("BEGIN")
            self._db.executemany("INSERT INTO anomaly_users (user, state) VALUES (?, ?) "
                                 "ON CONFLICT(user) DO UPDATE SET state = excluded.state", rows)
            if also is not None:
                also(self._db)
        self._dirty.clear()

    def forget(self) -> None:
        """Drop the cached baselines: another process moved them on (read again on use)."""
        self.flush()
        self._users.clear()

    def _match(self, key: str, det: Any, event: dict[str, Any], group: dict[str, Any]) -> Match:
        return Match(rule_id=f"anomaly.{key}", rule_title=det.title, level=det.level,
                     tags=["anomaly", *det.tags], event_id=event["event_id"], line=None,
                     ts=event["ts"], group=group, event_ids=[event["event_id"]],
                     first_seen=event["ts"], last_seen=event["ts"])

    def process_batch(self, batch: Sequence[tuple[dict[str, Any], float, Any]]) -> dict[int, list[Match]]:
        """The findings of a stored batch of ``(event, ts_epoch, _)``, by position in it.

        A user's state depends on that user's events alone, in order, so each user's events are
        taken together: the state is looked up, marked dirty and read into locals once per user
        and batch rather than once per event (a batch of the 1M day holds ≈ 8,500 users for
        20,000 events)."""
        by_user: dict[str, list[int]] = {}
        for i, item in enumerate(batch):
            user = item[0]["user"]
            mine = by_user.get(user)
            if mine is None:
                by_user[user] = [i]
            else:
                mine.append(i)
        found: dict[int, list[Match]] = {}
        cached, dirty = self._users, self._dirty
        for user, positions in by_user.items():
            st = cached.get(user)
            if st is None:
                st = self._state(user)
            dirty.add(user)
            self._user_events(user, st, [(i, *batch[i][:2]) for i in positions], found)
        return found

    def _user_events(self, user: str, st: dict[str, Any], events: list[tuple[int, dict[str, Any], float]],
                     found: dict[int, list[Match]]) -> None:
        """One user's events of a batch, in order, against (and moving) their state ``st``."""
        cfg = self.cfg
        dormant, first_l4, vol = cfg.dormant_account, cfg.first_l4_access, cfg.volume
        dormant_for = dormant.dormant_days * DAY if dormant.enabled else None
        l4_after = first_l4.min_history_days * DAY if first_l4.enabled else None
        dataset_level = self._dataset_level
        first, last, l4 = st["first"], st["last"], st["l4"]
        hour_was, cur, n, alerted = st["hour"], st["cur"], st["n"], st["alerted_hour"]
        sums, metrics = st["sum"], vol.metrics
        for i, event, ts in events:
            out: list[Match] = []
            if last is not None and dormant_for is not None and ts - last >= dormant_for:
                out.append(self._match("dormant_account", dormant, event, {"user": user}))
            if first is None or ts < first:
                first = ts
            if last is None or ts > last:
                last = ts
            if event.get("result") == "success":
                dataset = event.get("dataset")
                level = dataset_level(dataset) if dataset and dataset_level else event.get("data_level")
                if dataset and level == "L4" and dataset not in l4:
                    l4.append(dataset)
                    if l4_after is not None and ts - first >= l4_after:
                        out.append(self._match("first_l4_access", first_l4, event,
                                               {"user": user, "dataset": dataset}))
                hour = int(ts // 3600)
                # the volume baseline: not for a late event of an hour already folded into it
                if vol.enabled and (hour_was == hour or hour_was is None or hour >= hour_was):
                    if hour_was != hour:
                        if hour_was is not None and cur:
                            n += 1
                            for m, v in cur.items():
                                sums[m] = sums.get(m, 0) + v
                        hour_was, cur = hour, {}
                    judged = n >= vol.min_baseline_hours and alerted != hour  # fixed for the event
                    fired = False
                    for m in metrics:
                        value = event.get(m)
                        if not isinstance(value, int):
                            continue
                        total = cur.get(m, 0) + value
                        cur[m] = total
                        if not judged or fired:
                            continue
                        mean = sums.get(m, 0) / n
                        if total >= vol.floor.get(m, 0) and total > vol.factor * mean:
                            fired = True
                    if fired:
                        alerted = hour
                        out.append(self._match("volume", vol, event, {"user": event["user"]}))
            if out:
                found[i] = out
        st["first"], st["last"] = first, last
        st["hour"], st["cur"], st["n"], st["alerted_hour"] = hour_was, cur, n, alerted
