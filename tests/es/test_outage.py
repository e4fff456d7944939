"""Elasticsearch stopped in the middle of an ingest: events spool locally, nothing acknowledged is
lost, and the spool replays in arrival order once the server is back."""

from __future__ import annotations

import threading

import pytest

from tests.es.conftest import EsHandle
from tests.es.events import make_events

BATCH = 100


def test_es_restart_during_ingest(es_server: EsHandle, make_store) -> None:
    if es_server.server is None:
        pytest.skip("SHUWEI_TEST_ES_URL points at a server these tests did not start and cannot stop")
    store = make_store(max_retries=1, backoff_seconds=0.05, backoff_max_seconds=0.5, batch_size=50)
    events = make_events(3000, seed=11)
    batches = [events[i:i + BATCH] for i in range(0, len(events), BATCH)]
    acked: list[bool] = []
    progress = threading.Semaphore(0)
    resume = threading.Event()
    failures: list[BaseException] = []

    def ingest() -> None:
        try:
            for n, batch in enumerate(batches):
                acked.extend(store.append(batch))
                progress.release()
                if n == 14:
                    resume.wait(120)  # keep ingesting only once the server is on its way back
        except BaseException as exc:  # noqa: BLE001 - surfaced below
            failures.append(exc)
            progress.release()

    worker = threading.Thread(target=ingest)
    worker.start()
    for _ in range(5):
        assert progress.acquire(timeout=120)
    es_server.server.stop()           # mid-ingest: batches 6.. meet a dead server
    for _ in range(10):
        assert progress.acquire(timeout=120)
    spooled = store.spool.pending()
    assert spooled > 0, "nothing was spooled while Elasticsearch was down"
    assert store.append(batches[7]) == [False] * BATCH  # a resend while down is still a duplicate
    es_server.server.start()
    resume.set()
    worker.join(300)
    assert not failures, failures
    assert acked == [True] * len(events)          # every event was acknowledged ...
    assert store.count() == len(events)            # ... and is in Elasticsearch after the replay
    assert store.spool.pending() == 0 and store.spool.dead_letters() == []
    assert [e["event_id"] for e in store.iter_events()] == [e["event_id"] for e in events]
