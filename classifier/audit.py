"""How classifier and crypto emit audit events without importing ``soc`` (data flows one way).

Events follow ``docs/spec/audit-event.md``. By default they are appended to the outbox
``<data_dir>/audit/outbox.jsonl`` which ``shuwei soc ingest`` (and the service) picks up; a process
that runs the SOC pipeline in-process installs its own sink with :func:`set_audit_sink`.
"""

from __future__ import annotations

import json
import os
import threading
import uuid
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

AuditSink = Callable[[dict[str, Any]], None]

_lock = threading.Lock()
_sink: AuditSink | None = None

OUTBOX_NAME = "audit/outbox.jsonl"


def outbox_path(data_dir: Path) -> Path:
    return data_dir / OUTBOX_NAME


def make_event(action: str, *, user: str, result: str = "success", source: str = "shuwei",
               **fields: Any) -> dict[str, Any]:
    """A contract-shaped event with ``ts`` and a fresh ``event_id``; ``None`` fields are left out."""
    event: dict[str, Any] = {
        "ts": datetime.now(timezone.utc).astimezone().isoformat(timespec="milliseconds"),
        "event_id": f"shuwei-{uuid.uuid4().hex}",
        "source": source,
        "user": user,
        "action": action,
        "result": result,
    }
    event.update({k: v for k, v in fields.items() if v is not None})
    return event


def set_audit_sink(sink: AuditSink | None) -> None:
    """Route events to ``sink`` (e.g. the SOC ingest pipeline); ``None`` restores the outbox file."""
    global _sink
    _sink = sink


def emit(event: dict[str, Any], data_dir: Path | None = None) -> None:
    """Deliver one event to the installed sink, or append it durably to the outbox file."""
    if _sink is not None:
        _sink(event)
        return
    if data_dir is None:
        from classifier.settings import get_settings

        data_dir = get_settings().data_dir
    from classifier.settings import note_data_dir

    note_data_dir(data_dir)
    path = outbox_path(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(event, ensure_ascii=False) + "\n"
    with _lock, open(path, "a", encoding="utf-8") as fh:
        fh.write(line)
        fh.flush()
        os.fsync(fh.fileno())
