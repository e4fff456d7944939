"""What an analyst asks of alerts — one filter for the API (``GET /v1/alerts``) and the CLI
(``shuwei soc alerts``) — and the events behind one alert, masked for display."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from classifier.dates import parse_when
from crypto.policy import MaskingPolicy
from crypto.shapes import ENTITY_SHAPES, fits
from crypto.strategies import Unfit, fallback
from soc.store.base import EventStore


@dataclass(frozen=True)
class AlertFilter:
    """Each given criterion must hold; ``since``/``until`` bound last_seen/first_seen."""

    status: str | None = None
    severity: str | None = None
    user: str | None = None
    dataset: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def matches(self, alert: dict[str, Any]) -> bool:
        return ((self.status is None or alert["status"] == self.status)
                and (self.severity is None or alert["severity"] == self.severity)
                and (self.user is None or self.user in (alert.get("users") or []))
                and (self.dataset is None or self.dataset in (alert.get("datasets") or []))
                and (self.since is None or parse_when(alert["last_seen"]) >= self.since)
                and (self.until is None or parse_when(alert["first_seen"]) <= self.until))

    def apply(self, alerts: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        return [a for a in alerts if self.matches(a)]


# Contract fields an analyst triages by; everything else that is text may carry personal data.
_STRUCTURAL = frozenset((
    "ts", "event_id", "source", "user", "role", "org", "action", "result", "dataset", "fields",
    "rows", "bytes", "src_ip", "session_id", "approval_id", "purpose", "data_level",
    "sensitive_fields", "categories", "off_hours", "seq", "chain_hash", "received_at"))


def events_behind(store: EventStore, alert: dict[str, Any]) -> list[dict[str, Any]]:
    """The stored events an alert holds, in arrival order (from its own time span)."""
    wanted = set(alert.get("event_ids") or [])
    if not wanted:
        return []
    since = parse_when(alert["first_seen"])
    until = parse_when(alert["last_seen"]) + timedelta(seconds=1)
    return [e for e in store.iter_events(since=since, until=until) if e.get("event_id") in wanted]


# Identifiers also found inside free text (remarks, notes), longest shapes first.
_EMBEDDED = ("CN_RESIDENT_ID", "CN_BANK_CARD", "CN_MOBILE", "EMAIL_ADDRESS", "CN_PASSPORT")
_EMBEDDED_RE = re.compile("|".join(
    f"(?P<{e}>(?<![0-9A-Za-z]){ENTITY_SHAPES[e].pattern}(?![0-9A-Za-z]))" for e in _EMBEDDED))


def mask_event(event: dict[str, Any], policy: MaskingPolicy) -> dict[str, Any]:
    """The event with every non-structural text value that has an identifier's shape (mobile,
    resident ID, bank card, passport, e-mail …), whole or inside free text, masked by the policy's
    mask for that entity; a keyed or unfit mask falls back to a full mask, never the raw value."""
    dataset = str(event.get("dataset") or "")

    def one(entity: str, value: str, field: str) -> str:
        spec = policy.masks.get(entity)
        if spec is None or spec.keyed:
            return str(fallback(value))
        try:
            return str(spec.build(entity, dataset, field, None)(value))
        except Unfit:
            return str(fallback(value))

    def mask(value: Any, field: str) -> Any:
        if isinstance(value, dict):
            return {k: mask(v, f"{field}.{k}") for k, v in value.items()}
        if isinstance(value, list):
            return [mask(v, field) for v in value]
        if not isinstance(value, str) or not value:
            return value
        entity = next((e for e in ENTITY_SHAPES if fits(e, value.strip())), None)
        if entity is not None:
            return one(entity, value, field)
        return _EMBEDDED_RE.sub(lambda m: one(str(m.lastgroup), m.group(), field), value)

    return {k: (v if k in _STRUCTURAL else mask(v, k)) for k, v in event.items()}
