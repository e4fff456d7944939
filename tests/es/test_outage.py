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


def _closed_port() -> int:
    import socket

    with socket.socket() as s:  # bound, then closed: nothing listens there
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ingest_under_outage(tmp_path, monkeypatch) -> tuple[list[dict], object]:  # type: ignore[no-untyped-def]
    """`shuwei soc ingest` with soc.store: elasticsearch and no cluster: every valid event is
    accepted (spooled), the bad line is rejected by number, no traceback."""
    import json

    from typer.testing import CliRunner

    from classifier.settings import get_settings
    from soc.cli.main import app

    monkeypatch.setenv("SHUWEI_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("SHUWEI_SOC__STORE", "elasticsearch")
    monkeypatch.setenv("SHUWEI_ES_URL", f"http://127.0.0.1:{_closed_port()}")
    monkeypatch.setenv("SHUWEI_ES__MAX_RETRIES", "1")
    monkeypatch.setenv("SHUWEI_ES__BACKOFF_SECONDS", "0.01")
    monkeypatch.setenv("SHUWEI_ES__BACKOFF_MAX_SECONDS", "0.05")
    get_settings.cache_clear()
    events = make_events(50, seed=3)
    path = tmp_path / "events.jsonl"
    lines = [json.dumps(e) for e in events]
    lines.insert(10, '{"ts": "9999-12-31T23:59:59-23:59"')
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    res = CliRunner().invoke(app, ["soc", "ingest", str(path), "--format", "json"])
    assert "Traceback" not in res.output and not isinstance(res.exception, Exception) or \
        isinstance(res.exception, SystemExit), res.output
    summary = json.loads(res.stdout)
    assert res.exit_code == 2 and summary["accepted"] == 50
    assert [r["line"] for r in summary["rejected"]] == [11]
    from soc.store.es.spool import Spool

    spool = Spool(tmp_path / "var" / "es-spool.db")
    assert spool.pending() == 50
    spool.close()
    return events, get_settings


def test_ingest_with_no_cluster_spools_every_event(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    _ingest_under_outage(tmp_path, monkeypatch)


def test_es_replay_pushes_what_the_outage_spooled(es_server: EsHandle, es_prefix: str, tmp_path,  # type: ignore[no-untyped-def]
                                                  monkeypatch) -> None:
    from typer.testing import CliRunner

    from soc.cli.main import app
    from soc.store.es import EsEventStore

    monkeypatch.setenv("SHUWEI_ES__INDEX_PREFIX", es_prefix)
    monkeypatch.setenv("SHUWEI_ES__REPLICAS", "0")
    events, get_settings = _ingest_under_outage(tmp_path, monkeypatch)
    monkeypatch.setenv("SHUWEI_ES_URL", es_server.url)  # the cluster is back
    get_settings.cache_clear()  # type: ignore[attr-defined]
    res = CliRunner().invoke(app, ["es", "replay"])
    assert res.exit_code == 0, res.output
    assert res.stdout.startswith("replayed 50 events; 0 still spooled")
    store = EsEventStore.from_settings(get_settings())  # type: ignore[operator]
    store.refresh()
    assert [e["event_id"] for e in store.iter_events()] == [e["event_id"] for e in events]
    store.close()
