"""Bulk indexing with batching, retries with backoff, and a bounded number of requests in flight.

Hand-written rather than ``elasticsearch.helpers.parallel_bulk``: the store must tell, per event,
"created" from "duplicate" (``create`` + 409) from "could not be sent" (goes to the spool), and
must not mistake its own earlier, timed-out-but-applied request for a duplicate on retry — the
helpers retry only per-item 429s and report neither distinction.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from enum import Enum

import orjson
from elastic_transport import ConnectionError as TransportConnectionError
from elastic_transport import ConnectionTimeout
from elasticsearch import ApiError, Elasticsearch

from classifier import progress
from soc.store.es.mapping import SEQ_FIELD

log = logging.getLogger(__name__)
_MIN_SPLIT = 500
_RETRY_STATUS = frozenset({429, 500, 502, 503, 504})


class Outcome(Enum):
    CREATED = "created"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"  # ES refused the document itself (e.g. 400); retrying cannot help
    UNSENT = "unsent"      # ES unreachable or overloaded past the retries: spool it


@dataclass(frozen=True, slots=True)
class Doc:
    event_id: str
    index: str
    seq: int
    source: str  # the JSON text indexed as _source


@dataclass(frozen=True, slots=True)
class Result:
    outcome: Outcome
    reason: str = ""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_retries: int = 5
    backoff: float = 0.5
    backoff_max: float = 10.0

    def delay(self, attempt: int) -> float:
        """Exponential backoff with full jitter (attempt 0 = first retry)."""
        return random.uniform(0, min(self.backoff_max, self.backoff * (2 ** attempt)))


def _body(docs: Sequence[Doc]) -> bytes:
    lines = []
    for d in docs:
        lines.append(orjson.dumps({"create": {"_index": d.index, "_id": d.event_id}}))
        lines.append(d.source.encode())
    return b"\n".join(lines) + b"\n"


def _retryable(exc: Exception) -> bool:
    if isinstance(exc, (TransportConnectionError, ConnectionTimeout)):
        return True
    return isinstance(exc, ApiError) and exc.meta.status in _RETRY_STATUS


class BulkWriter:
    """Sends batches concurrently (``workers``); ``submit`` blocks while ``2 × workers`` are queued."""

    def __init__(self, client: Elasticsearch, *, batch_size: int, workers: int, policy: RetryPolicy) -> None:
        self.client = client
        self.batch_size = batch_size
        self.policy = policy
        self.workers = workers
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="es-bulk")
        self._slots = threading.BoundedSemaphore(2 * workers)  # backpressure: bounded queue

    def send(self, docs: Sequence[Doc]) -> list[Result]:
        """Index all ``docs`` (op_type create); one Result per doc, in order."""
        futures: list[tuple[int, Future[list[Result]]]] = []
        # Small appends (the ingest pipeline commits 2,000 at a time) are still split across the
        # workers, so the server indexes them on as many threads as we allow in flight.
        size = min(self.batch_size, max(_MIN_SPLIT, -(-len(docs) // self.workers)))
        for start in range(0, len(docs), size):
            futures.append((min(size, len(docs) - start), self.submit(docs[start:start + size])))
        out: list[Result] = []
        for n, fut in futures:
            out.extend(fut.result())
            progress.advance("elasticsearch bulk (documents)", n)
        return out

    def submit(self, batch: Sequence[Doc]) -> Future[list[Result]]:
        self._slots.acquire()
        fut = self._pool.submit(self._send_batch, batch)
        fut.add_done_callback(lambda _: self._slots.release())
        return fut

    def _send_batch(self, batch: Sequence[Doc]) -> list[Result]:
        results: list[Result | None] = [None] * len(batch)
        todo = list(range(len(batch)))
        retried: set[int] = set()  # positions whose earlier attempt may have been applied
        for attempt in range(self.policy.max_retries + 1):
            if attempt:
                time.sleep(self.policy.delay(attempt - 1))
            try:
                resp = self.client.bulk(operations=_body([batch[i] for i in todo]),  # type: ignore[arg-type]  # NDJSON bytes: the stub lists only mappings
                                        refresh=False)
            except (ApiError, TransportConnectionError, ConnectionTimeout) as exc:
                if not _retryable(exc):
                    reason = f"bulk request refused: {exc.__class__.__name__} {getattr(exc, 'message', '')}"
                    for i in todo:
                        results[i] = Result(Outcome.REJECTED, reason)
                    return results  # type: ignore[return-value]
                log.warning("bulk attempt %d failed (%s); retrying", attempt + 1, exc.__class__.__name__)
                retried.update(todo)
                continue
            again = []
            maybe_ours = []
            for i, item in zip(todo, resp["items"]):
                status = item["create"]["status"]
                if status in (200, 201):
                    results[i] = Result(Outcome.CREATED)
                elif status == 409:
                    if i in retried:
                        maybe_ours.append(i)
                    else:
                        results[i] = Result(Outcome.DUPLICATE)
                elif status in _RETRY_STATUS:
                    again.append(i)
                else:
                    err = item["create"].get("error", {})
                    results[i] = Result(Outcome.REJECTED, f"{err.get('type')}: {err.get('reason')}")
            if maybe_ours:
                self._resolve_conflicts(batch, maybe_ours, results)
            retried.update(again)
            todo = again
            if not todo:
                return results  # type: ignore[return-value]
        for i in todo:
            results[i] = Result(Outcome.UNSENT, "Elasticsearch unavailable")
        return results  # type: ignore[return-value]

    def _resolve_conflicts(self, batch: Sequence[Doc], positions: list[int], results: list[Result | None]) -> None:
        """A 409 after a retry is ours when the stored doc carries our arrival seq."""
        docs = [{"_index": batch[i].index, "_id": batch[i].event_id} for i in positions]
        try:
            found = self.client.mget(docs=docs, source_includes=[SEQ_FIELD])["docs"]
        except (ApiError, TransportConnectionError, ConnectionTimeout):
            # Cannot tell: count them as ours (stored once either way; at worst alerted twice,
            # which beats never alerting on an event we may have been the first to store).
            for i in positions:
                results[i] = Result(Outcome.CREATED)
            return
        for i, doc in zip(positions, found):
            ours = doc.get("found") and doc["_source"].get(SEQ_FIELD) == batch[i].seq
            results[i] = Result(Outcome.CREATED if ours else Outcome.DUPLICATE)

    def close(self) -> None:
        self._pool.shutdown(wait=True)
