"""Behavioural detectors beside Sigma: each user is compared with their own history.

Per-user state (first/last seen, L4 datasets touched, hourly volume baseline) lives in the
``anomaly_users`` table of soc.db so baselines survive restarts; findings come out as the same
:class:`Match` Sigma rules produce, with rule ids ``anomaly.volume``, ``anomaly.first_l4_access``
and ``anomaly.dormant_account``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
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

    def process(self, event: dict[str, Any], ts: float) -> list[Match]:
        # Called for every stored event: the cached state and the config read once each.
        user = event["user"]
        st = self._users.get(user)
        if st is None:
            st = self._state(user)
        self._dirty.add(user)
        out: list[Match] = []
        cfg = self.cfg
        last = st["last"]
        if last is not None:
            dormant = cfg.dormant_account
            if dormant.enabled and ts - last >= dormant.dormant_days * DAY:
                out.append(self._match("dormant_account", dormant, event, {"user": user}))
        first = st["first"]
        if first is None or ts < first:
            st["first"] = ts
        if last is None or ts > last:
            st["last"] = ts
        if event.get("result") != "success":
            return out
        dataset = event.get("dataset")
        level = self._dataset_level(dataset) if dataset and self._dataset_level else event.get("data_level")
        if dataset and level == "L4" and dataset not in st["l4"]:
            st["l4"].append(dataset)
            f = cfg.first_l4_access
            if f.enabled and ts - st["first"] >= f.min_history_days * DAY:
                out.append(self._match("first_l4_access", f, event, {"user": user, "dataset": dataset}))
        if cfg.volume.enabled:
            self._volume(st, event, ts, out)
        return out

    def _volume(self, st: dict[str, Any], event: dict[str, Any], ts: float, out: list[Match]) -> None:
        vol = self.cfg.volume
        hour = int(ts // 3600)
        was = st["hour"]
        if was != hour:
            if was is not None and hour < was:
                return  # a late event of an hour already folded into the baseline
            if was is not None and st["cur"]:
                st["n"] += 1
                sums = st["sum"]
                for m, v in st["cur"].items():
                    sums[m] = sums.get(m, 0) + v
            st["hour"], st["cur"] = hour, {}
        cur, n = st["cur"], st["n"]
        judged = n >= vol.min_baseline_hours and st["alerted_hour"] != hour  # fixed for the event
        fired = False
        for m in vol.metrics:
            value = event.get(m)
            if not isinstance(value, int):
                continue
            total = cur.get(m, 0) + value
            cur[m] = total
            if not judged or fired:
                continue
            mean = st["sum"].get(m, 0) / n
            if total >= vol.floor.get(m, 0) and total > vol.factor * mean:
                fired = True
        if fired:
            st["alerted_hour"] = hour
            out.append(self._match("volume", vol, event, {"user": event["user"]}))
