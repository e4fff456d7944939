"""Alerts from the share ledger (事后可追溯): a leak traced to a release, and a canary touched.

Two built-in detections run on every ingested event beside the Sigma pack and the anomaly
detectors, so the CLI (through the outbox) and the service raise them alike:

- *Leak traced to a release* (high): the ``api_call`` event of a trace (``extra.operation:
  trace``) whose verdict is ``traced``; the alert's group names the release and its recipient,
  so playbooks (playbooks/leak-traced.yaml) can act on it.
- *Honeytoken Canary Record Touched* (critical): any event carrying, anywhere in its values, a
  value of a canary record hidden in a static export (crypto/share/canaries.py); the honeytoken
  playbook contains the account.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ahocorasick

from crypto.share import canaries
from crypto.share.db import db_path
from soc.detection.match import Match

TRACED = ("shuwei.leak_traced", "Leak traced to a release", "high")
CANARY = ("shuwei.honeytoken_canary", "Honeytoken Canary Record Touched", "critical")
# fields the emitter or the enrichment fills with names and codes, never with data values
_STRUCTURAL = frozenset({"ts", "event_id", "source", "action", "result", "role", "data_level", "categories",
                         "sensitive_fields", "fields", "off_hours"})
RELOAD_SECONDS = 5.0


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


class ShareWatch:
    """Canary values are read from ``<data_dir>/share.db`` again when it changes (checked at most
    every few seconds); with none stored an event costs one dictionary lookup."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self._automaton: Any = None
        self._canaries: dict[str, tuple[str, str]] = {}
        self._stamp: float | None = None
        self._checked = -RELOAD_SECONDS

    def _refresh(self) -> None:
        now = time.monotonic()
        if now - self._checked < RELOAD_SECONDS:
            return
        self._checked = now
        path = db_path(self.data_dir)
        stamp = path.stat().st_mtime if path.exists() else None
        wal = path.with_name(path.name + "-wal")
        if wal.exists():
            stamp = max(stamp or 0.0, wal.stat().st_mtime)
        if stamp == self._stamp:
            return
        self._stamp = stamp
        self._canaries = canaries.load(self.data_dir)
        if not self._canaries:
            self._automaton = None
            return
        automaton = ahocorasick.Automaton()
        for value in self._canaries:
            automaton.add_word(value, value)
        automaton.make_automaton()
        self._automaton = automaton

    def process(self, event: dict[str, Any]) -> list[Match]:
        out = []
        extra = event.get("extra")
        if (event.get("action") == "api_call" and isinstance(extra, dict) and extra.get("operation") == "trace"
                and extra.get("verdict") == "traced"):
            recipient = extra.get("recipient") or {}
            out.append(self._match(TRACED, event, {"release_id": extra.get("release_id"),
                                                   "user": recipient.get("user"), "org": recipient.get("org")}))
        self._refresh()
        if self._automaton is not None:
            for key, value in event.items():
                if key in _STRUCTURAL:
                    continue
                hit = next((found for text in _strings(value) for _, found in self._automaton.iter(text)), None)
                if hit is not None:
                    release_id, field = self._canaries[hit]
                    out.append(self._match(CANARY, event, {"user": event.get("user"), "release_id": release_id,
                                                           "canary_field": field}))
                    break
        return out

    @staticmethod
    def _match(rule: tuple[str, str, str], event: dict[str, Any], group: dict[str, Any]) -> Match:
        rule_id, title, level = rule
        return Match(rule_id=rule_id, rule_title=title, level=level, tags=["shuwei.share"],
                     event_id=event["event_id"], line=None, ts=event["ts"], group=group,
                     event_ids=[event["event_id"]], first_seen=event["ts"], last_seen=event["ts"])
