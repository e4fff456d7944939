"""The one ingest path for files, stdin, HTTP batches and the suite's own audit events.

parse → validate → enrich → store (durable) → streaming Sigma + anomaly detection → alerts →
playbooks. Detection runs only on events that were stored, after they are durable, so a resent
event is neither stored nor alerted twice and a crash never leaves an alert without its events.
"""

from __future__ import annotations

import gc
import logging
import queue
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from operator import itemgetter
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast
from zoneinfo import ZoneInfo

from classifier import audit, jsonl, progress
from classifier.gcpause import gc_paused
from classifier.jsonl import JsonlError
from classifier.settings import Settings
from soc.alerts.manager import AlertManager
from soc.anomaly import AnomalyDetector, load_anomaly_config
from soc.config import SocConfig, anomaly_file, rules_dir, soc_config
from soc.detection.match import Match
from soc.enrich import Enricher
from soc.playbooks import PlaybookRunner, load_playbooks
from soc.sharewatch import ShareWatch
from soc.store.base import AlertStore, EventStore
from soc.validate import EventError, Rejection, decoded_valid, parse_ts, validate_event

if TYPE_CHECKING:
    from soc.detection_state import DetectionState

log = logging.getLogger("shuwei.ingest")
# Events per transaction: against 5,000, the commit's CPU (fsync, WAL checkpoint of randomly
# touched index pages) per event halves (measured 13.5 -> 7.4 µs); still under a second of latency.
BATCH = 20_000
_CONTEXT_LIMIT = 200_000  # recent events kept to fill an alert's users/datasets
_FULL_GC_EVERY = 10  # batches between full collections while the collector is paused (ingest)
_OUTBOX_OFFSET = "audit/outbox.offset"


@dataclass
class IngestResult:
    accepted: int = 0
    duplicates: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)  # created or updated, latest state

    def count(self, stored: int, batch: int) -> None:
        """A written batch of ``batch`` events, ``stored`` of them new (the rest resent)."""
        self.accepted += stored
        self.duplicates += batch - stored

    def as_dict(self) -> dict[str, Any]:
        return {"accepted": self.accepted, "duplicates": self.duplicates,
                "rejected": self.rejected, "alerts": self.alerts}


FLUSH = object()  # yielded by a live source (see follow) when no event arrived for a while


def follow(stream: Iterable[object], idle_seconds: float = 0.2) -> Iterator[object]:
    """Lines of a live stream (stdin of ``tail -f``), with FLUSH whenever it goes quiet for
    ``idle_seconds``, so a trickle of events is stored and alerted on within a second instead of
    waiting for a full batch."""
    lines: queue.Queue[object] = queue.Queue(maxsize=BATCH * 4)

    def pump() -> None:
        try:
            for line in stream:
                lines.put(line)
        except (ValueError, OSError):  # the stream was closed under us (shutdown): it has ended
            pass
        finally:
            lines.put(None)

    threading.Thread(target=pump, name="ingest-follow", daemon=True).start()
    while True:
        try:
            line = lines.get(timeout=idle_seconds)
        except queue.Empty:
            yield FLUSH
            continue
        if line is None:
            return
        yield line


def _decode(item: str | bytes | JsonlError) -> object:
    """A JSON line (str/bytes) is parsed; a line the reader refused (too long) is an error."""
    try:
        if isinstance(item, JsonlError):
            raise item
        return jsonl.loads(item)
    except JsonlError as exc:
        data = item.encode("utf-8", "surrogatepass") if isinstance(item, str) else item
        where = jsonl.culprit(data) if isinstance(data, bytes) else None
        raise EventError(where, f"not JSON: {exc.reason}" if where is None else exc.reason) from None


class IngestPipeline:
    """Owns the store, detectors, alert manager and playbook runner of one process."""

    def __init__(self, store: EventStore, alert_store: AlertStore, enricher: Enricher, *,
                 detector: Any | None = None, anomaly: AnomalyDetector | None = None,
                 playbooks: PlaybookRunner | None = None, window_seconds: float = 3600.0,
                 batch_size: int = BATCH, share_watch: ShareWatch | None = None) -> None:
        self.store = store
        self.alerts = AlertManager(alert_store, window_seconds)
        self.enricher = enricher
        self.detector = detector
        self.anomaly = anomaly
        self.playbooks = playbooks
        self.share_watch = share_watch
        self.batch_size = batch_size
        self._context: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._lock = threading.RLock()
        self.state: DetectionState | None = None  # detection across restarts (from_settings)
        # Given each stored batch's (doc, ts, line), last seq and newest ts when detection runs elsewhere.
        self.forward: Callable[[list[tuple[bytes, float, int | None]], int, float], None] | None = None
        self._batches = 0

    @classmethod
    def from_settings(cls, settings: Settings, *, store: EventStore | None = None,
                      alert_store: AlertStore | None = None, detection: bool = True,
                      playbooks: bool = True) -> IngestPipeline:
        """Everything from configuration: the store (``soc.store``), the Sigma pack under
        ``soc.rules`` (default policies/sigma), policies/anomaly.yaml and playbooks/."""
        cfg = soc_config(settings)
        data_dir = settings.ensure_data_dir()
        tz = cfg.timezone or settings.timezone
        if store is None or alert_store is None:
            store, alert_store = make_stores(settings, cfg)
        from classifier.catalog import Catalog

        enricher = Enricher(Catalog.open(settings), cfg.working_hours, tz, cfg.catalog_cache_seconds)
        detector = anomaly = share_watch = None
        if detection:
            share_watch = ShareWatch(data_dir)
            detector = load_detector(rules_dir(settings, cfg), cfg.placeholders)
            anomaly = AnomalyDetector(load_anomaly_config(anomaly_file(settings, cfg)),
                                      data_dir / "soc.db", enricher.dataset_level)
        pipe = cls(store, alert_store, enricher, detector=detector, anomaly=anomaly,
                   window_seconds=cfg.alert_window_minutes * 60, share_watch=share_watch)
        if detection:
            from soc.detection_state import DetectionState

            pipe.state = DetectionState(data_dir / "soc.db", cfg.store, store, detector, anomaly)
        if playbooks:
            pbs = load_playbooks(settings.playbook_dir)
            if pbs:
                pipe.playbooks = PlaybookRunner(pbs, pipe.alerts, cfg)
        return pipe

    def close(self) -> None:
        if self.playbooks is not None:
            self.playbooks.close()
        if self.anomaly is not None:
            self.anomaly.close()
        if self.state is not None:
            self.state.close()
        for obj in (self.store, self.alerts.store):
            if hasattr(obj, "close"):
                obj.close()

    # -- ingest ---------------------------------------------------------------------------------
    def ingest(self, events: Iterable[object], *, origin: str, first_line: int = 1) -> IngestResult:
        """Ingest JSON lines (str/bytes; rejections name the 1-based ``line``) or decoded events
        (rejections name the 0-based ``index`` in the batch). Blank lines are skipped. Returns
        once every accepted event is durable and has been through detection."""
        result = IngestResult()
        alerts: dict[str, dict[str, Any]] = {}
        batch: list[tuple[dict[str, Any], float, int | None]] = []

        def write(ready: list[tuple[dict[str, Any], float, int | None]]) -> None:
            # Measured: a separate writer thread gains nothing here (the GIL convoys with
            # SQLite's per-row release), so the batch is written, then detected, in line —
            # or, with ``forward`` set, detected by another process (soc/ingest_split.py).
            events = [e for e, _, _ in ready]
            latest = max(ts for _, ts, _ in ready)
            if self.forward is None:
                stored = self.store.append(events)  # durable from here on
                progress.advance("ingest (events)", len(ready))
                self._detect(stored, ready, result, alerts)
            else:  # nothing to detect here: only the counts of _detect
                docs, last = self.store.append_docs(  # type: ignore[attr-defined]
                    events, [ts for _, ts, _ in ready])
                items = [(doc, ts, line) for doc, (_, ts, line) in zip(docs, ready) if doc is not None]
                result.count(len(items), len(ready))
                self.forward(items, last, latest)
                progress.advance("ingest (events)", len(ready))
            # Dropped before the collection below, which would otherwise walk the whole batch
            # (the caller starts a new list: this one is no longer anyone's).
            del events
            ready.clear()
            self.batch_done(latest, self.store.last_seq)

        enrich, batch_size = self.enricher.enrich, self.batch_size
        with self._lock, gc_paused():
            self._batches = 0  # counted per ingest (a service's small batches: no full collections)
            self._resume(alerts)
            pos = -1
            for item in events:
                # A line (file, body): decoded and judged in one pass (soc/validate.py); what that
                # pass cannot vouch for — bad or unusual lines — takes the full path below.
                if type(item) is bytes and (fast := decoded_valid(item)) is not None:
                    pos += 1
                    event, ts = fast
                    enrich(event, ts)
                    batch.append((event, ts, pos + first_line))
                    if len(batch) >= batch_size:
                        write(batch)
                        batch = []
                    continue
                if item is FLUSH:  # the source is idle: store and detect what we have now
                    if batch:
                        write(batch)
                        batch = []
                    continue
                pos += 1
                is_line = isinstance(item, (str, bytes, JsonlError))
                if isinstance(item, (str, bytes)) and not item.strip():
                    continue
                try:
                    obj = _decode(item) if isinstance(item, (str, bytes, JsonlError)) else item
                    ts = validate_event(obj)
                except EventError as exc:
                    where, number = ("line", pos + first_line) if is_line else ("index", pos)
                    result.rejected.append(Rejection(where, number, exc.field, exc.reason).as_dict())
                    continue
                # A caller's dict is not ours to change; a freshly parsed line is.
                checked = cast("dict[str, Any]", obj)  # validate_event accepts JSON objects only
                if is_line:
                    event, line = checked, pos + first_line
                else:
                    event, line = dict(checked), None
                enrich(event, ts)
                batch.append((event, ts, line))
                if len(batch) >= batch_size:
                    write(batch)
                    batch = []
            if batch:
                write(batch)
        result.alerts = list(alerts.values())
        if result.rejected:
            log.info("%s: %d event(s) rejected", origin, len(result.rejected))
        return result

    def batch_done(self, latest: float, seq: Callable[[], int] | None) -> None:
        """After a batch went through detection: its checkpoint (events up to arrival ``seq()``
        detected, ``latest`` the batch's newest ``ts``), then the cyclic garbage it left. The
        collector is paused for an ingest (gcpause: a batch builds ~10 objects per event and
        frees them by reference counting); the young generations are collected here, the whole
        heap every few batches of one ingest, so memory stays bounded."""
        if self.state is not None and seq is not None:
            self.state.checkpoint(seq(), latest)
        self._batches += 1
        gc.collect(2 if self._batches % _FULL_GC_EVERY == 0 else 1)

    def _detect(self, stored: list[bool] | None, batch: list[tuple[dict[str, Any], float, int | None]],
                result: IngestResult, alerts: dict[str, dict[str, Any]], *, once: bool = False) -> None:
        """Detection of a written batch: the events ``stored`` marks as new (None: all of them,
        as the split detector gets them). The per-event look-ups are hoisted out of the loop
        (the detector child's hot path: soc/ingest_split.py)."""
        fresh = batch if stored is None else [item for item, ok in zip(batch, stored) if ok]
        result.count(len(fresh), len(batch))
        detector, anomaly, share_watch = self.detector, self.anomaly, self.share_watch
        if detector is None and anomaly is None and share_watch is None:
            return
        ctx = self._context
        for event, _, _ in fresh:
            ctx[event["event_id"]] = _alert_context(event)
        while len(ctx) > _CONTEXT_LIMIT:
            ctx.popitem(last=False)
        record, playbooks = self.alerts.record, self.playbooks
        sigma = detector.process if detector is not None else None
        # per user over the batch (soc/anomaly/detectors.py); merged below in event order
        behaviour = anomaly.process_batch(fresh).get if anomaly is not None else None
        shares = share_watch.process if share_watch is not None else None
        for i, (event, ts, line) in enumerate(fresh):
            # ts: parsed by validation
            matches: list[Match] = sigma(event, line, epoch=ts) if sigma is not None else []
            if behaviour is not None:
                found = behaviour(i)
                if found:
                    matches = [*matches, *found]
            if shares is not None:
                found = shares(event)
                if found:
                    matches = [*matches, *found]
            for match in matches:
                alert, is_new = record(match, ctx, once=once)
                alerts[alert["id"]] = alert
                if is_new and playbooks is not None:
                    playbooks.submit(alert)
        if anomaly is not None and self.state is None:
            anomaly.flush()  # baselines move with the stored events (else at the checkpoint)

    def _resume(self, alerts: dict[str, dict[str, Any]], upto: int | None = None) -> None:
        """Before new events (soc/detection_state.py): windows refilled from the store after a
        restart or another worker's ingest, then the stored events no run has detected yet (up
        to arrival ``upto``, by default the store's end)."""
        if self.state is None:
            return
        state, ctx = self.state, self._context

        def remember(event: dict[str, Any]) -> None:
            ctx[event["event_id"]] = _alert_context(event)
            if len(ctx) > _CONTEXT_LIMIT:
                ctx.popitem(last=False)

        from elastic_transport import TransportError
        from elasticsearch import ApiError

        try:
            recovered = IngestResult()
            chunk: list[tuple[dict[str, Any], float, int | None]] = []
            last = 0
            for last, event in state.resume(remember, upto=upto):
                chunk.append((event, parse_ts(event["ts"]), None))
                if len(chunk) >= self.batch_size:
                    self._detect([True] * len(chunk), chunk, recovered, alerts, once=True)
                    state.checkpoint(last, max(ts for _, ts, _ in chunk))
                    chunk = []
            if chunk:
                self._detect([True] * len(chunk), chunk, recovered, alerts, once=True)
                state.checkpoint(last, max(ts for _, ts, _ in chunk))
        except (TransportError, ApiError) as exc:  # the cluster is down: ingest spools, windows wait
            log.warning("event store unavailable (%s): detection windows not rebuilt from it yet; "
                        "tried again at the next ingest", type(exc).__name__)
            return
        if recovered.accepted:
            log.warning("%d stored event(s) had not been through detection (the last run "
                        "stopped in between): detected now", recovered.accepted)

    def ingest_file(self, path: Path) -> IngestResult:
        """Every line is judged on its own (bad UTF-8, JSON or event: that line is rejected with
        its number); the valid lines are stored."""
        with open(path, "rb") as fh:
            return self.ingest(map(itemgetter(1), jsonl.raw_lines(fh)), origin=str(path))

    # -- the suite's own audit events -----------------------------------------------------------
    def sink(self, event: dict[str, Any]) -> None:
        """A ``classifier.audit.set_audit_sink`` target: the event is durable when this returns."""
        res = self.ingest([event], origin="shuwei")
        if res.rejected:
            log.error("own audit event rejected: %s", res.rejected[0])

    def ingest_outbox(self, data_dir: Path) -> IngestResult:
        """New lines of <data_dir>/audit/outbox.jsonl since the last run (a byte offset is kept
        beside it; the file is only ever appended to, so nothing is truncated under a writer)."""
        path = audit.outbox_path(data_dir)
        offset_file = data_dir / _OUTBOX_OFFSET
        start = int(offset_file.read_text() or 0) if offset_file.is_file() else 0
        if not path.is_file():
            return IngestResult()
        with open(path, "rb") as fh:
            fh.seek(start)
            data = fh.read()
        end = data.rfind(b"\n") + 1  # a half-written last line waits for the next run
        first_line = _count_lines(path, start) + 1
        result = self.ingest(data[:end].splitlines(), origin=str(path), first_line=first_line)
        tmp = offset_file.with_suffix(".tmp")
        tmp.write_text(str(start + end))
        tmp.replace(offset_file)
        return result

    # -- retention ------------------------------------------------------------------------------
    def purge(self, before: datetime, *, user: str) -> tuple[int, dict[str, Any]]:
        """Delete events older than ``before``; the purge is itself an audit event, stored (and
        chained) first, so the deletion is on record even if the process dies half-way."""
        count_before = getattr(self.store, "count_before", None)
        planned = count_before(before) if count_before else None
        event = audit.make_event("config_change", user=user, extra={
            "operation": "soc.purge", "before": before.isoformat(), "events": planned})
        self.ingest([event], origin="shuwei")
        deleted = self.store.purge(before, audit_event_id=event["event_id"])
        return deleted, event


def _alert_context(event: dict[str, Any]) -> dict[str, Any]:
    """What an alert needs of one of its events, not the whole event."""
    return {"user": event["user"], "dataset": event.get("dataset"), "data_level": event.get("data_level")}


def _count_lines(path: Path, upto: int) -> int:
    n = 0
    with open(path, "rb") as fh:
        remaining = upto
        while remaining > 0 and (chunk := fh.read(min(1 << 20, remaining))):
            n += chunk.count(b"\n")
            remaining -= len(chunk)
    return n


def load_detector(path: Path, placeholders: dict[str, list[str]]) -> Any | None:
    """The streaming Sigma detector over the pack at ``path``; rules that fail to load are logged
    (``shuwei soc rules check`` reports them) and the others still run."""
    if not path.exists():
        return None
    from soc.detection import RulePack, StreamingDetector
    from soc.detection.logsource import EXCHANGE

    pack = RulePack.load(path, placeholders)
    # everything ingested is an exchange audit event: rules for other log sources never run
    detector = StreamingDetector(pack, placeholders=placeholders, logsource=EXCHANGE)
    for err in [*pack.errors, *detector.errors]:
        log.warning("rule not loaded: %s", err)
    return detector


def make_stores(settings: Settings, cfg: SocConfig) -> tuple[EventStore, AlertStore]:
    """The stores ``soc.store`` selects: embedded SQLite, or Elasticsearch (soc/store/es)."""
    if cfg.store == "elasticsearch":
        from soc.store.es import EsAlertStore, EsEventStore

        return EsEventStore.from_settings(settings), EsAlertStore.from_settings(settings)
    from soc.integrity.checkpoints import Signing
    from soc.store.sqlite import SqliteAlertStore, SqliteEventStore

    data_dir = settings.ensure_data_dir()
    tz = ZoneInfo(cfg.timezone or settings.timezone)
    return (SqliteEventStore.in_dir(data_dir, tz, signing=Signing.from_settings(settings)),
            SqliteAlertStore.in_dir(data_dir))

