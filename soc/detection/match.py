"""The one result type of detection, shared by streaming, hunt, the alert pipeline and Elasticsearch."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Match:
    """One rule matching one event, or one correlation window closing for one group.

    For a base match ``event_ids``/``lines`` hold the single event; for a correlation match they
    list every base-rule event that made up the window, and ``event_id``/``line``/``ts`` are the
    event that closed it.
    """

    rule_id: str
    rule_title: str
    level: str
    tags: list[str]
    event_id: str | None
    line: int | None
    ts: str | None
    correlation: bool = False
    group: dict[str, Any] = field(default_factory=dict)
    event_ids: list[str] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    first_seen: str | None = None
    last_seen: str | None = None

    def to_hunt_json(self) -> dict[str, Any]:
        """The Hunt output contract of docs/spec/audit-event.md."""
        out: dict[str, Any] = {"rule_id": self.rule_id, "rule_title": self.rule_title,
                               "line": self.line}
        if self.event_id is not None:
            out["event_id"] = self.event_id
        out["level"] = self.level
        if self.correlation:
            out["correlation"] = True
            out["group"] = self.group
            out["lines"] = self.lines
        return out
