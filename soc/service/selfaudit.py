"""Self-audit: the service's own audit events go into the SOC pipeline in-process (source ``shuwei``).

Installed as the ``classifier.audit`` sink, so events the classifier and crypto emit inside this
process (reviews, decrypts, key use) and those the routes emit all meet the suite's own rules.
Events are group-committed: one writer thread ingests whatever queued while the previous batch was
being written, so a busy service pays one SQLite transaction per batch rather than per request.
``emit`` waits until the batch is durable (nothing acknowledged is lost); if the pipeline fails,
the events go to the durable outbox file that ``shuwei soc ingest`` reads later.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from classifier import audit
from soc.service.metrics import SELF_AUDIT

log = logging.getLogger("shuwei.service.audit")
_MAX_BATCH = 2_000


class SelfAudit:
    def __init__(self, ingest: Callable[[list[dict[str, Any]]], Any], data_dir: Path,
                 wait_seconds: float = 30.0, idle: Callable[[], Any] | None = None,
                 idle_seconds: float = 5.0) -> None:
        self._ingest = ingest
        self._idle = idle
        self._idle_seconds = idle_seconds
        self._last_idle = 0.0
        self._data_dir = data_dir
        self._wait = wait_seconds
        self._queue: queue.SimpleQueue[tuple[dict[str, Any], Future[None]] | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="shuwei-self-audit", daemon=True)
        self._thread.start()

    def submit(self, event: dict[str, Any]) -> Future[None]:
        future: Future[None] = Future()
        self._queue.put((event, future))
        return future

    def emit(self, event: dict[str, Any]) -> None:
        """The ``classifier.audit`` sink: returns once the event is durable (SOC store or outbox)."""
        try:
            self.submit(event).result(timeout=self._wait)
        except Exception:  # slow store: make sure the event is kept before we answer the caller
            self._to_outbox([event])

    async def emit_async(self, event: dict[str, Any]) -> None:
        """:meth:`emit` for the event loop: waits for the group commit without holding a thread."""
        try:
            await asyncio.wait_for(asyncio.wrap_future(self.submit(event)), self._wait)
        except Exception:
            await asyncio.to_thread(self._to_outbox, [event])

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=30)

    def _run(self) -> None:
        self._on_idle()
        while True:
            if time.monotonic() - self._last_idle >= self._idle_seconds:
                self._on_idle()
            try:
                item = self._queue.get(timeout=self._idle_seconds)
            except queue.Empty:
                continue
            if item is None:
                return
            batch = [item]
            while len(batch) < _MAX_BATCH:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    self._commit(batch)
                    return
                batch.append(nxt)
            self._commit(batch)

    def _on_idle(self) -> None:
        """Between batches: pick up what other processes (the CLI) left in the outbox file."""
        self._last_idle = time.monotonic()
        if self._idle is None:
            return
        try:
            self._idle()
        except Exception:
            log.exception("outbox ingest failed; it is retried later")

    def _commit(self, batch: list[tuple[dict[str, Any], Future[None]]]) -> None:
        events = [e for e, _ in batch]
        try:
            self._ingest(events)
            SELF_AUDIT.labels("soc").inc(len(events))
        except Exception:
            log.exception("self-audit ingest failed; %d events kept in the outbox", len(events))
            self._to_outbox(events)
        for _, future in batch:
            if not future.done():
                future.set_result(None)

    def _to_outbox(self, events: list[dict[str, Any]]) -> None:
        path = audit.outbox_path(self._data_dir)
        path.parent.mkdir(parents=True, exist_ok=True)
        text = "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in events)
        with self._lock, open(path, "a", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        SELF_AUDIT.labels("outbox").inc(len(events))
