"""Turns detections into alerts and walks them through their lifecycle.

A detection joins the open alert of the same rule and group when it falls within the grouping
window of that alert's last event (event time, not wall-clock), so a burst makes one alert with a
count instead of a thousand. Every human or playbook change is appended to ``history``.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import Any

from soc.alerts.severity import SEVERITIES, raised, severity_for
from soc.detection.match import Match
from soc.store.base import AlertStore
from soc.validate import parse_ts

STATUSES = ("new", "acknowledged", "in_progress", "resolved", "false_positive")
CLOSED = ("resolved", "false_positive")
_NEXT: dict[str, tuple[str, ...]] = {
    "new": ("acknowledged", "in_progress", "resolved", "false_positive"),
    "acknowledged": ("in_progress", "resolved", "false_positive"),
    "in_progress": ("resolved", "false_positive"),
    "resolved": (),
    "false_positive": (),
}
MAX_EVENT_IDS = 100  # contract: event_ids (up to 100)
_LEVEL_RANK = {"L1": 1, "L2": 2, "L3": 3, "L4": 4}


class AlertError(ValueError):
    """Unknown alert or a lifecycle change that is not allowed; the CLI maps it to exit 2."""


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def group_of(match: Match, events: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """Correlations carry their group-by values; a single-event rule groups by the acting user."""
    if match.group:
        return dict(match.group)
    event = events.get(match.event_id or "") or {}
    return {"user": event.get("user")}


class AlertManager:
    """Alert grouping and lifecycle over any :class:`AlertStore`; safe across threads."""

    def __init__(self, store: AlertStore, window_seconds: float = 3600.0) -> None:
        self.store = store
        self.window = window_seconds
        self._lock = threading.RLock()

    # -- detections -----------------------------------------------------------------------------
    def record(self, match: Match, events: Mapping[str, Mapping[str, Any]], *,
               once: bool = False) -> tuple[dict[str, Any], bool]:
        """Add one detection; returns the alert and whether it is new. ``events`` maps event_id to
        the (enriched) event for the ids the match names, as far as the caller still has them.
        ``once``: a match the alert already holds (all its event ids listed) is not counted
        again — detection of events a killed run may have half recorded (detection_state.py)."""
        ids = match.event_ids or ([match.event_id] if match.event_id else [])
        touched = [events[i] for i in ids if i in events]
        first = match.first_seen or match.ts or _now()
        last = match.last_seen or match.ts or first
        last_epoch = parse_ts(last)
        group = group_of(match, events)
        key = json.dumps(group, sort_keys=True, ensure_ascii=False, default=str)
        top_level = max((e.get("data_level") for e in touched if e.get("data_level")),
                        key=lambda lv: _LEVEL_RANK.get(str(lv), 0), default=None)
        severity = severity_for(match.level, top_level)
        with self._lock:
            alert = self.store.find_open(match.rule_id, key, last_epoch - self.window)
            is_new = alert is None
            if once and alert is not None and ids and set(ids) <= set(alert["event_ids"]):
                return alert, False  # matches of one alert never share events: recorded before
            if alert is None:
                alert = {
                    "id": f"alert-{uuid.uuid4().hex[:16]}", "rule_id": match.rule_id,
                    "rule_title": match.rule_title, "severity": severity, "status": "new",
                    "first_seen": first, "last_seen": last, "count": 0, "group": group,
                    "users": [], "datasets": [], "event_ids": [], "assignee": None, "notes": [],
                    "playbook_runs": [], "tags": list(match.tags),
                    "history": [{"at": _now(), "by": "shuwei", "change": "created", "to": "new"}],
                }
            else:
                if parse_ts(first) < parse_ts(alert["first_seen"]):
                    alert["first_seen"] = first
                if last_epoch > parse_ts(alert["last_seen"]):
                    alert["last_seen"] = last
                if SEVERITIES.index(severity) > SEVERITIES.index(alert["severity"]):
                    alert["history"].append({"at": _now(), "by": "shuwei", "change": "severity",
                                             "from": alert["severity"], "to": severity})
                    alert["severity"] = severity
            alert["count"] += 1
            for e in touched:
                if e.get("user") and e["user"] not in alert["users"]:
                    alert["users"].append(e["user"])
                if e.get("dataset") and e["dataset"] not in alert["datasets"]:
                    alert["datasets"].append(e["dataset"])
            room = MAX_EVENT_IDS - len(alert["event_ids"])
            if room > 0:
                known = set(alert["event_ids"])
                alert["event_ids"].extend([i for i in ids if i not in known][:room])
            self._put(alert)
        return alert, is_new

    # -- lifecycle ------------------------------------------------------------------------------
    def get(self, alert_id: str) -> dict[str, Any]:
        alert = self.store.get(alert_id)
        if alert is None:
            raise AlertError(f"no alert with id '{alert_id}'")
        return alert

    def _put(self, alert: dict[str, Any]) -> None:
        key = json.dumps(alert["group"], sort_keys=True, ensure_ascii=False, default=str)
        self.store.put(alert, rule_id=alert["rule_id"], group_key=key,
                       last_epoch=parse_ts(alert["last_seen"]))

    def _change(self, alert_id: str, apply: Callable[[dict[str, Any]], dict[str, Any] | None]) -> dict[str, Any]:
        with self._lock:
            alert = self.get(alert_id)
            entry = apply(alert)
            if entry is not None:
                alert["history"].append({"at": _now(), **entry})
            self._put(alert)
            return alert

    def _status(self, alert: dict[str, Any], to: str, by: str) -> dict[str, Any]:
        if to not in _NEXT[alert["status"]]:
            raise AlertError(f"alert {alert['id']} is {alert['status']}; it cannot become {to}")
        entry = {"by": by, "change": "status", "from": alert["status"], "to": to}
        alert["status"] = to
        return entry

    def acknowledge(self, alert_id: str, by: str) -> dict[str, Any]:
        return self._change(alert_id, lambda a: self._status(a, "acknowledged", by))

    def assign(self, alert_id: str, assignee: str, by: str) -> dict[str, Any]:
        """Assigning puts an open alert in progress (the assignee is now working it)."""
        def apply(a: dict[str, Any]) -> dict[str, Any]:
            if a["status"] in CLOSED:
                raise AlertError(f"alert {a['id']} is {a['status']}; it cannot be assigned")
            entry = {"by": by, "change": "assignee", "from": a["assignee"], "to": assignee}
            a["assignee"] = assignee
            if a["status"] != "in_progress":
                entry["status"] = {"from": a["status"], "to": "in_progress"}
                a["status"] = "in_progress"
            return entry
        return self._change(alert_id, apply)

    def resolve(self, alert_id: str, by: str, *, false_positive: bool = False) -> dict[str, Any]:
        to = "false_positive" if false_positive else "resolved"
        return self._change(alert_id, lambda a: self._status(a, to, by))

    def note(self, alert_id: str, text: str, by: str) -> dict[str, Any]:
        if not text.strip():
            raise AlertError("a note needs text")
        def apply(a: dict[str, Any]) -> dict[str, Any]:
            a["notes"].append({"at": _now(), "by": by, "text": text})
            return {"by": by, "change": "note", "to": text}
        return self._change(alert_id, apply)

    def raise_severity(self, alert_id: str, by: str, to: str | None = None) -> dict[str, Any]:
        """To ``to`` (never lowering), or one step up."""
        def apply(a: dict[str, Any]) -> dict[str, Any] | None:
            new = to if to is not None else raised(a["severity"])
            if new not in SEVERITIES:
                raise AlertError(f"unknown severity '{new}'")
            if SEVERITIES.index(new) <= SEVERITIES.index(a["severity"]):
                return None
            entry = {"by": by, "change": "severity", "from": a["severity"], "to": new}
            a["severity"] = new
            return entry
        return self._change(alert_id, apply)

    def record_run(self, alert_id: str, run: dict[str, Any]) -> None:
        """Insert or replace (by ``run["id"]``) one playbook run on its alert."""
        def apply(a: dict[str, Any]) -> None:
            runs = a["playbook_runs"]
            for i, old in enumerate(runs):
                if old["id"] == run["id"]:
                    runs[i] = run
                    return None
            runs.append(run)
            return None
        self._change(alert_id, apply)

    def list(self, *, status: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        if status is not None and status not in STATUSES:
            raise AlertError(f"unknown status '{status}'; expected one of {', '.join(STATUSES)}")
        return self.store.list(status=status, limit=limit)
