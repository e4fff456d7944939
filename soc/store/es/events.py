"""EventStore on Elasticsearch: one index per event day, ``_id = event_id``, op_type create.

Idempotency: a resent event has the same ``event_id`` and ``ts``, so it lands in the same daily
index (chosen by the EVENT's UTC date, not the arrival date) and ``create`` answers 409.
Arrival order: each event gets ``ingest_seq`` (nanosecond clock, strictly increasing per
process), which ``iter_events`` sorts on. Retention deletes whole day indices, and the
remainder of the boundary day document by document (the minimal distribution has no
delete-by-query).
Outages: what ES cannot take after the retries goes to the spool (spool.py) and counts as
stored; the spool is replayed, oldest first, before anything newer is sent.
Integrity: with a master key, each document is linked into its index's SM3 chain for this writer
and signed checkpoints are kept (soc/integrity/es_log.py); ``verify`` checks them.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections.abc import Generator, Iterator
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from elasticsearch import ApiError, Elasticsearch, NotFoundError

from classifier import jsonl
from classifier.settings import Settings
from soc.integrity import es_log
from soc.integrity.checkpoints import CheckpointPolicy, IdleTimer, Signing
from soc.store.es.bulk import BulkWriter, Doc, Outcome, Result, RetryPolicy
from soc.store.es.config import EsConfig, es_config, make_client
from soc.store.es.mapping import CHAIN_FIELD, SEQ_FIELD, events_template
from soc.store.es.spool import Spool

log = logging.getLogger(__name__)
PAGE = 10_000
_DAY_FORMAT = "%Y.%m.%d"


class _SeqClock:
    """Strictly increasing nanosecond stamps: arrival order within and across batches."""

    def __init__(self) -> None:
        self._last = 0
        self._lock = threading.Lock()

    def take(self, n: int) -> int:
        with self._lock:
            first = max(time.time_ns(), self._last + 1)
            self._last = first + n - 1
            return first

    @property
    def last(self) -> int:
        """The last stamp handed out, 0 before the first."""
        return self._last


def _event_day(ts: str) -> date:
    try:
        return datetime.fromisoformat(ts).astimezone(timezone.utc).date()
    except (TypeError, ValueError):
        return datetime.now(timezone.utc).date()


class EsEventStore:
    def __init__(self, client: Elasticsearch, cfg: EsConfig, spool_path: Path, *, retention_days: int = 180,
                 signing: Signing | None = None) -> None:
        self.client = client
        self.cfg = cfg
        self.prefix = cfg.index_prefix
        self.retention_days = cfg.retention_days or retention_days
        self.spool = Spool(spool_path)
        self.writer = BulkWriter(client, batch_size=cfg.batch_size, workers=cfg.workers,
                                 policy=RetryPolicy(cfg.max_retries, cfg.backoff_seconds, cfg.backoff_max_seconds))
        self._clock = _SeqClock()
        self._lock = threading.Lock()
        self._down_until = 0.0  # circuit breaker: skip ES until then after an outage
        self._refused: set[int] = set()  # positions of the last batch ES refused (dead letters)
        self._template_ok = False
        self.signing = signing or Signing(None, CheckpointPolicy(), None)
        self._log = (es_log.EsCheckpointLog(client, self.prefix, self.signing, cfg.replicas, self._es_usable)
                     if self.signing.key is not None else None)
        self._timer = IdleTimer(self.signing.policy.seconds, self._idle) if self._log is not None else None

    @classmethod
    def from_settings(cls, settings: Settings) -> EsEventStore:
        from soc.config import soc_config

        cfg = es_config(settings)
        spool = cfg.spool or settings.ensure_data_dir() / "es-spool.db"
        return cls(make_client(cfg), cfg, spool, retention_days=soc_config(settings).retention_days,
                   signing=Signing.from_settings(settings))

    # -- names ------------------------------------------------------------------------------
    @property
    def pattern(self) -> str:
        return f"{self.prefix}-events-*"

    def index_for(self, day: date) -> str:
        return f"{self.prefix}-events-{day.strftime(_DAY_FORMAT)}"

    def ensure_template(self) -> None:
        """Install (or update) the index template; new daily indices pick it up."""
        self.client.indices.put_index_template(
            name=f"{self.prefix}-events",
            **events_template(self.prefix, shards=self.cfg.shards, replicas=self.cfg.replicas,
                              refresh_interval=self.cfg.refresh_interval, ilm_policy=self.cfg.ilm_policy))
        self._template_ok = True

    # -- writing ----------------------------------------------------------------------------
    def append(self, events: list[dict[str, Any]]) -> list[bool]:
        if not events:
            return []
        with self._lock:
            first = self._clock.take(len(events))
            docs: list[Doc] = []
            stored: list[bool | None] = []
            seen: set[str] = set()
            refs: list[es_log.Ref] = []
            for n, event in enumerate(events):
                eid = event["event_id"]
                if eid in seen:  # the same id twice in one batch: the second is a duplicate
                    stored.append(False)
                    continue
                seen.add(eid)
                seq = first + n
                index = self.index_for(_event_day(event.get("ts", "")))
                source = jsonl.dumps({**event, SEQ_FIELD: seq})
                if self._log is not None:
                    source, ref = self._log.link(index, source)
                    refs.append(ref)
                docs.append(Doc(eid, index, seq, source.decode()))
                stored.append(None)
            results = self._send(docs)
            if self._log is not None:
                self._log.settle(refs, [ok and i not in self._refused for i, ok in enumerate(results)])
            it = iter(results)
            return [next(it) if s is None else s for s in stored]

    def checkpoint(self, reason: str = "close") -> None:
        """Sign what this writer sent since its last checkpoints (idle timer, close)."""
        if self._log is not None:
            with self._lock:
                self._log.checkpoint(reason)

    def _idle(self) -> None:
        self.checkpoint("time")

    def verify(self, anchors: Path | None = None) -> Any:
        """Every daily index against its signed checkpoints, purge records and the anchors
        (default ``soc.anchors``); a ``soc.chain.VerifyReport``."""
        return es_log.verify(self, anchors or self.signing.anchors)

    def _send(self, docs: list[Doc]) -> list[bool]:
        self._refused = set()
        if self._es_usable() and self.spool.pending():
            self.replay()
        if not self._es_usable() or self.spool.pending():
            return self._spool(docs)
        try:
            if not self._template_ok:
                self.ensure_template()
            results = self.writer.send(docs)
        except Exception as exc:  # noqa: BLE001 - any failure here must not lose the batch
            log.warning("Elasticsearch unavailable (%s); spooling %d events", exc.__class__.__name__, len(docs))
            self._trip()
            return self._spool(docs)
        out: list[bool] = [r.outcome in (Outcome.CREATED, Outcome.REJECTED) for r in results]
        unsent = [(i, d) for i, (d, r) in enumerate(zip(docs, results)) if r.outcome is Outcome.UNSENT]
        if unsent:
            self._trip()
            for (i, _), ok in zip(unsent, self._spool([d for _, d in unsent])):
                out[i] = ok
        self._dead_letter(docs, results)
        return out

    def _dead_letter(self, docs: list[Doc], results: list[Result]) -> None:
        """Events ES refused for good are kept locally, never dropped (and logged without values)."""
        self._refused = {i for i, r in enumerate(results) if r.outcome is Outcome.REJECTED}
        dead = [(d, r.reason) for d, r in zip(docs, results) if r.outcome is Outcome.REJECTED]
        if dead:
            log.error("Elasticsearch refused %d events; kept in %s dead_letters", len(dead), self.spool.path)
            self.spool.add_dead([(d.event_id, d.index, d.source, reason) for d, reason in dead])

    def _spool(self, docs: list[Doc]) -> list[bool]:
        return self.spool.add([(d.event_id, d.index, d.source) for d in docs])

    def _es_usable(self) -> bool:
        return time.monotonic() >= self._down_until

    def _trip(self) -> None:
        self._down_until = time.monotonic() + self.cfg.backoff_max_seconds

    def replay(self) -> int:
        """Send spooled events to ES, oldest first; returns how many left the spool."""
        moved = 0
        while rows := self.spool.head(self.cfg.batch_size * self.cfg.workers):
            docs = [Doc(eid, idx, json.loads(src)[SEQ_FIELD], src) for _, eid, idx, src in rows]
            try:
                if not self._template_ok:
                    self.ensure_template()
                results = self.writer.send(docs)
            except Exception as exc:  # noqa: BLE001
                log.warning("replay failed (%s); %d events stay spooled", exc.__class__.__name__, len(rows))
                self._trip()
                return moved
            done = [r[0] for r, res in zip(rows, results) if res.outcome in (Outcome.CREATED, Outcome.DUPLICATE)]
            dead = [(r, res.reason) for r, res in zip(rows, results) if res.outcome is Outcome.REJECTED]
            self.spool.remove(done, dead)
            moved += len(done) + len(dead)
            if len(done) + len(dead) < len(rows):
                self._trip()
                return moved
        self._down_until = 0.0
        return moved

    # -- reading ----------------------------------------------------------------------------
    def refresh(self) -> None:
        """Make everything acknowledged visible to searches (replaying the spool first)."""
        if self.spool.pending():
            self._down_until = 0.0
            self.replay()
        self.client.indices.refresh(index=self.pattern, allow_no_indices=True, ignore_unavailable=True)

    def _pages(self, query: dict[str, Any], source: bool | list[str],
               page: int) -> Generator[list[dict[str, Any]], None, None]:
        try:
            pit = self.client.open_point_in_time(index=self.pattern, keep_alive="2m",
                                                 ignore_unavailable=True)["id"]
        except NotFoundError:
            return
        try:
            after: list[Any] | None = None
            while True:
                resp = self.client.search(
                    query=query, size=page, sort=[{SEQ_FIELD: "asc"}, {"_shard_doc": "asc"}],
                    pit={"id": pit, "keep_alive": "2m"}, search_after=after,
                    source=source,  # type: ignore[arg-type]  # the stub omits a list of field names, which ES accepts
                    track_total_hits=False)
                hits = resp["hits"]["hits"]
                if not hits:
                    return
                pit = resp.get("pit_id", pit)
                yield hits
                after = hits[-1]["sort"]
        finally:
            try:
                self.client.close_point_in_time(id=pit)
            except ApiError:
                pass

    def search_pages(self, query: dict[str, Any], *, source: bool | list[str] = True,
                     page: int = PAGE) -> Iterator[list[dict[str, Any]]]:
        """Every hit of ``query`` in arrival order, page by page (point in time + search_after).

        The next page is fetched by a helper thread while the caller works on this one, so the
        server's search and the caller's evaluation overlap (two pages held at most)."""
        pages: queue.Queue[Any] = queue.Queue(maxsize=1)
        stop = threading.Event()
        done = object()

        def fetch() -> None:
            gen = self._pages(query, source, page)
            try:
                for hits in gen:
                    while not stop.is_set():
                        try:
                            pages.put(hits, timeout=0.2)
                            break
                        except queue.Full:
                            continue
                    if stop.is_set():
                        break
                pages.put(done)
            except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
                pages.put(exc)
            finally:
                gen.close()

        worker = threading.Thread(target=fetch, name="es-pages", daemon=True)
        worker.start()
        try:
            while (item := pages.get()) is not done:
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            stop.set()
            while worker.is_alive():
                try:
                    pages.get_nowait()
                except queue.Empty:
                    worker.join(0.1)

    def iter_events(self, *, since: datetime | None = None, until: datetime | None = None,
                    action: str | None = None) -> Iterator[dict[str, Any]]:
        self.refresh()
        rng: dict[str, str] = {}
        if since is not None:
            rng["gte"] = since.isoformat()
        if until is not None:
            rng["lt"] = until.isoformat()
        filters: list[dict[str, Any]] = [{"range": {"ts": rng}}] if rng else []
        if action is not None:
            filters.append({"term": {"action": action}})  # a keyword with the lowercase normalizer
        query: dict[str, Any] = {"bool": {"filter": filters}} if filters else {"match_all": {}}
        for hits in self.search_pages(query):
            for hit in hits:
                doc = hit["_source"]
                doc.pop(SEQ_FIELD, None)
                doc.pop(CHAIN_FIELD, None)
                yield doc

    def last_seq(self) -> int:
        """Arrival number (``ingest_seq``) of the newest stored event, 0 when there is none.
        After this store's own append (under the ingest lock): that batch's last, no round trip."""
        if self._clock.last:
            return self._clock.last
        self.refresh()
        resp = self.client.search(index=self.pattern, size=1, source=False, track_total_hits=False,
                                  sort=[{SEQ_FIELD: "desc"}], allow_no_indices=True,
                                  ignore_unavailable=True)
        hits = resp["hits"]["hits"]
        return int(hits[0]["sort"][0]) if hits else 0  # a sort value is exact, a max aggregation a double

    def iter_arrivals(self, after: int, *, upto: int | None = None,
                      since: float | None = None) -> Iterator[tuple[int, dict[str, Any]]]:
        """``(ingest_seq, event)`` of the events that arrived after ``after`` (up to ``upto``)
        with a ``ts`` at or after the epoch ``since``, in arrival order."""
        self.refresh()
        seq_range: dict[str, int] = {"gt": after}
        if upto is not None:
            seq_range["lte"] = upto
        filters: list[dict[str, Any]] = [{"range": {SEQ_FIELD: seq_range}}]
        if since is not None:
            start = datetime.fromtimestamp(since, timezone.utc).isoformat()
            filters.append({"range": {"ts": {"gte": start}}})
        for hits in self.search_pages({"bool": {"filter": filters}}):
            for hit in hits:
                doc = hit["_source"]
                yield int(doc.pop(SEQ_FIELD)), doc

    def count(self) -> int:
        self.refresh()
        resp = self.client.count(index=self.pattern, allow_no_indices=True, ignore_unavailable=True)
        return int(resp["count"])

    def count_before(self, before: datetime) -> int:
        """Events a purge at ``before`` would delete (the pipeline records it in the purge's audit event)."""
        self.refresh()
        resp = self.client.count(index=self.pattern, allow_no_indices=True, ignore_unavailable=True,
                                 query={"range": {"ts": {"lt": before.isoformat()}}})
        return int(resp["count"])

    # -- retention --------------------------------------------------------------------------
    def _daily_indices(self) -> dict[str, date]:
        out: dict[str, date] = {}
        try:
            names = self.client.indices.get(index=self.pattern, expand_wildcards="open,closed").body
        except NotFoundError:
            return out
        cut = len(f"{self.prefix}-events-")
        for name in names:
            try:
                out[name] = datetime.strptime(name[cut:], _DAY_FORMAT).date()
            except ValueError:
                continue  # not ours
        return out

    def purge(self, before: datetime, *, audit_event_id: str = "") -> int:
        """Delete events with ``ts`` before ``before``: whole day indices, then the boundary day.
        With signing, each deletion is first recorded in a signed retention record."""
        self.refresh()
        cutoff = before.astimezone(timezone.utc)
        deleted = 0
        for name, day in sorted(self._daily_indices().items()):
            day_end = datetime.combine(day + timedelta(days=1), datetime.min.time(), timezone.utc)
            day_start = day_end - timedelta(days=1)
            if day_end <= cutoff:
                count = int(self.client.count(index=name)["count"])
                if self._log is not None:
                    self._log.purge_record(name, whole=True, runs=[], before=cutoff.isoformat(), events=count)
                deleted += count
                self.client.indices.delete(index=name)
            elif day_start < cutoff:
                deleted += self._delete_older(name, cutoff)
        del audit_event_id  # the caller's audit event records who purged; the signed record what
        return deleted

    def _delete_older(self, index: str, cutoff: datetime) -> int:
        query = {"range": {"ts": {"lt": cutoff.isoformat()}}}
        total = 0
        source: Any = [CHAIN_FIELD] if self._log else False  # the stub omits a list of fields, which ES accepts
        while hits := self.client.search(index=index, query=query, size=10_000, source=source)["hits"]["hits"]:
            if self._log is not None:
                self._log.purge_record(index, whole=False, before=cutoff.isoformat(), events=len(hits),
                                       runs=es_log.purge_runs([h.get("_source", {}) for h in hits], index))
            ops = "".join(json.dumps({"delete": {"_index": index, "_id": h["_id"]}}) + "\n" for h in hits)
            self.client.bulk(operations=ops, refresh=True)  # type: ignore[arg-type]  # NDJSON text: the stub lists only mappings
            total += len(hits)
        return total

    def apply_retention(self, now: datetime | None = None) -> int:
        """Delete what is older than ``retention_days`` (default 180, Cybersecurity Law art. 21)."""
        now = now or datetime.now(timezone.utc)
        return self.purge(now - timedelta(days=self.retention_days))

    def close(self) -> None:
        if self._timer is not None:
            self._timer.stop()
        try:
            self.checkpoint("close")
        except Exception as exc:  # noqa: BLE001 - closing must not fail over a checkpoint write
            log.error("closing checkpoint not written: %s", exc.__class__.__name__)
        self.writer.close()
        self.spool.close()
        self.client.close()
