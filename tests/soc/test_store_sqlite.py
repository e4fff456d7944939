"""SQLite store: durability under SIGKILL, SM3 chain tamper evidence, retention purge."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from soc.chain import GENESIS, link
from soc.ingest import IngestPipeline
from soc.store.base import EventStore
from soc.store.sqlite import SqliteEventStore
from tests.soc.pipeline_helpers import RULE_BULK, event, use_rules

REPO = Path(__file__).resolve().parents[2]


def test_sm3_known_answer():
    from cryptography.hazmat.primitives import hashes

    h = hashes.Hash(hashes.SM3())
    h.update(b"abc")
    assert h.finalize().hex() == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
    assert link(GENESIS, "{}") != link(GENESIS, "{ }")


def test_store_implements_protocol_and_schema(data_dir):
    store = SqliteEventStore.in_dir(data_dir)
    assert isinstance(store, EventStore)
    conn = sqlite3.connect(data_dir / "soc.db")
    cols = [r[1] for r in conn.execute("PRAGMA table_info(events)")]
    assert cols[:4] == ["seq", "event_id", "ts", "ts_epoch"] and cols[-2:] == ["doc", "chain_hash"]
    # user/dataset are not indexed: no query needed them and they cost ingest (soc/store/base.py)
    indexed = {r[2] for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index' "
                                                "AND tbl_name = 'events' AND sql IS NOT NULL")
               for r in conn.execute(f"PRAGMA index_info({name})")}
    assert indexed == {"ts_epoch", "action"}
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    store.close()


def test_store_of_an_earlier_version_loses_its_unused_indexes_and_keeps_its_events(data_dir):
    store = SqliteEventStore.in_dir(data_dir)
    store.append([event(1), event(2)])
    store.close()
    conn = sqlite3.connect(data_dir / "soc.db")
    for col in ("user", "dataset"):  # as stores made before 2026-12-02 have them
        conn.execute(f"CREATE INDEX events_{col} ON events({col})")
    conn.commit()
    conn.close()
    store = SqliteEventStore.in_dir(data_dir)
    names = {r[0] for r in sqlite3.connect(data_dir / "soc.db").execute(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")}
    assert not names & {"events_user", "events_dataset"} and {"events_ts", "events_action"} <= names
    assert [e["event_id"] for e in store.iter_events()] == ["t-000001", "t-000002"]
    assert store.verify().ok
    store.close()


def test_iter_events_time_window_in_arrival_order(data_dir):
    store = SqliteEventStore.in_dir(data_dir)
    store.append([event(3), event(1), event(2)])
    assert [e["event_id"] for e in store.iter_events()] == ["t-000003", "t-000001", "t-000002"]
    since = datetime(2026, 3, 2, 2, 2, tzinfo=timezone.utc)  # 10:02 +08:00
    assert [e["event_id"] for e in store.iter_events(since=since)] == ["t-000003", "t-000002"]
    store.close()


def test_iter_events_of_one_action_case_insensitive_with_time_bounds(data_dir):
    store = SqliteEventStore.in_dir(data_dir)
    store.append([event(3, action="Export"), event(1, action="export"), event(2), event(4, action="export")])
    assert [e["event_id"] for e in store.iter_events(action="EXPORT")] == ["t-000003", "t-000001", "t-000004"]
    since = datetime(2026, 3, 2, 2, 2, tzinfo=timezone.utc)  # 10:02 +08:00
    assert [e["event_id"] for e in store.iter_events(since=since, action="export")] == ["t-000003", "t-000004"]
    assert list(store.iter_events(action="decrypt")) == []
    plan = store._conn.execute("EXPLAIN QUERY PLAN SELECT doc FROM events WHERE action = ? ORDER BY seq",
                               ["export"]).fetchall()
    assert any("events_action" in str(row) for row in plan)  # read through the index, not a scan
    store.close()


WRITER = textwrap.dedent("""
    import sys
    from classifier.settings import get_settings
    from soc.ingest import IngestPipeline
    pipe = IngestPipeline.from_settings(get_settings(), detection=False, playbooks=False)
    n = 0
    while True:
        batch = [{"ts": "2026-03-02T10:00:00+08:00", "event_id": f"k-{n + i}", "source": "gw",
                  "user": "u1", "action": "query", "result": "success", "rows": i}
                 for i in range(200)]
        res = pipe.ingest(batch, origin="test")
        n += res.accepted
        print(n, flush=True)   # acknowledged: durable from here on
""")


def test_acknowledged_events_survive_sigkill(data_dir, settings):
    env = dict(os.environ, SHUWEI_DATA_DIR=str(data_dir), PYTHONPATH=str(REPO))
    proc = subprocess.Popen([sys.executable, "-c", WRITER], stdout=subprocess.PIPE, env=env, text=True)
    acked = 0
    deadline = time.monotonic() + 60
    try:
        while acked < 2000 and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            acked = int(line)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert acked >= 2000, "writer did not get going"
    store = SqliteEventStore.in_dir(data_dir)
    ids = {e["event_id"] for e in store.iter_events()}
    assert {f"k-{i}" for i in range(acked)} <= ids
    report = store.verify()
    assert report.ok, report.problems[:3]
    store.close()


@pytest.fixture()
def filled(data_dir):
    store = SqliteEventStore.in_dir(data_dir)
    store.append([event(i) for i in range(1, 21)])
    store.append([event(i) for i in range(21, 31)])
    assert store.verify().ok
    yield store, sqlite3.connect(data_dir / "soc.db", isolation_level=None)
    store.close()


def _problems(store):
    return [(p.kind, p.seq, p.event_id) for p in store.verify().problems]


def test_verify_names_an_edited_document(filled):
    store, db = filled
    db.execute("UPDATE events SET doc = replace(doc, '\"u1\"', '\"u2\"'), user = 'u2' WHERE seq = 7")
    assert _problems(store) == [("edited", 7, "t-000007")]


def test_verify_names_an_edited_column(filled):
    store, db = filled
    db.execute("UPDATE events SET rows = 999 WHERE seq = 12")
    problems = store.verify().problems
    assert [(p.kind, p.seq) for p in problems] == [("edited", 12)]
    assert "rows" in problems[0].detail


def test_verify_names_deleted_rows(filled):
    store, db = filled
    db.execute("DELETE FROM events WHERE seq IN (5, 6)")
    db.execute("DELETE FROM events WHERE seq = 30")
    problems = store.verify().problems
    assert [(p.kind, p.seq) for p in problems] == [("deleted", 5), ("deleted", 30)]
    assert "5..6" in problems[0].detail and "t-000007" in problems[0].detail
    assert "end of the chain" in problems[1].detail


def test_verify_names_reordered_rows(filled):
    store, db = filled
    db.execute("UPDATE events SET seq = -1 WHERE seq = 10")
    db.execute("UPDATE events SET seq = 10 WHERE seq = 11")
    db.execute("UPDATE events SET seq = 11 WHERE seq = -1")
    problems = store.verify().problems
    kinds = {(p.kind, p.seq, p.event_id) for p in problems}
    assert ("reordered", 10, "t-000011") in kinds and ("reordered", 11, "t-000010") in kinds
    assert all(p.kind == "reordered" for p in problems)


def test_verify_detects_rewritten_tail_against_daily_checkpoint(filled):
    store, db = filled
    # Recompute the whole chain after editing the last event: links agree, the checkpoint does not.
    db.execute("UPDATE events SET doc = replace(doc, '\"u1\"', '\"u9\"'), user = 'u9' WHERE seq = 30")
    prev, _ = db.execute("SELECT chain_hash, 0 FROM events WHERE seq = 29").fetchone()
    doc = db.execute("SELECT doc FROM events WHERE seq = 30").fetchone()[0]
    db.execute("UPDATE events SET chain_hash = ? WHERE seq = 30", (link(prev, doc),))
    kinds = {p.kind for p in store.verify().problems}
    assert "checkpoint" in kinds or "head" in kinds


def test_purge_is_audited_and_keeps_the_chain_verifiable(settings, tmp_path, monkeypatch):
    s = use_rules(tmp_path, monkeypatch, RULE_BULK)
    pipe = IngestPipeline.from_settings(s)
    try:
        old = [event(i, ts=f"2025-0{1 + i % 3}-10T10:00:00+08:00") for i in range(1, 10)]
        new = [event(i, ts="2026-03-02T10:00:00+08:00") for i in range(10, 15)]
        mixed = [e for pair in zip(old, new) for e in pair] + old[len(new):]
        pipe.ingest(mixed, origin="api")
        deleted, audit_event = pipe.purge(datetime(2026, 1, 1, tzinfo=timezone.utc), user="ops1")
        assert deleted == 9
        remaining = list(pipe.store.iter_events())
        assert {e["event_id"] for e in remaining} == {e["event_id"] for e in new} | {audit_event["event_id"]}
        (rec,) = [e for e in remaining if e["source"] == "shuwei"]
        assert rec["user"] == "ops1" and rec["extra"]["operation"] == "soc.purge"
        assert rec["extra"]["events"] == 9
        report = pipe.store.verify()
        assert report.ok, report.problems
        assert report.purged == 9
        # Deleting a surviving row after the purge is still caught.
        db = sqlite3.connect(s.data_dir / "soc.db", isolation_level=None)
        seq = db.execute("SELECT seq FROM events WHERE event_id = 't-000012'").fetchone()[0]
        db.execute("DELETE FROM events WHERE seq = ?", (seq,))
        assert [p.kind for p in pipe.store.verify().problems] == ["deleted"]
    finally:
        pipe.close()


def test_alert_store_generation_changes_with_every_write_from_any_connection(tmp_path: Path) -> None:
    from soc.store.sqlite import SqliteAlertStore

    path = tmp_path / "soc.db"
    reader, writer = SqliteAlertStore(path), SqliteAlertStore(path)
    alert = {"id": "alert-1", "status": "new", "severity": "low", "first_seen": "2026-03-01T08:00:00+08:00",
             "last_seen": "2026-03-01T08:00:00+08:00"}
    g0 = reader.generation()
    assert reader.generation() == g0  # reading changes nothing
    reader.put(alert, rule_id="r", group_key="{}", last_epoch=1.0)  # its own write
    g1 = reader.generation()
    assert g1 != g0
    writer.put({**alert, "status": "acknowledged"}, rule_id="r", group_key="{}", last_epoch=1.0)  # another's
    assert reader.generation() != g1
    assert [(i, '"acknowledged"' in doc) for i, doc in reader.documents()] == [("alert-1", True)]
    reader.close()
    writer.close()


def test_a_writer_that_appends_while_a_batch_is_built_is_chained_after(data_dir, monkeypatch):
    """Rows are built before the write lock: another connection appending in between moves the
    head, and the batch is then chained after it (never two events on one seq, never a fork)."""
    import soc.store.sqlite as sq

    mine, other = SqliteEventStore.in_dir(data_dir), SqliteEventStore.in_dir(data_dir)
    real_build, calls = sq._build, []

    def build(events, epochs, head, seen):
        calls.append(head)
        if len(calls) == 1:  # built outside the lock: the other writer slips in now
            assert other.append([event(100), event(101)]) == [True, True]
        return real_build(events, epochs, head, seen)

    monkeypatch.setattr(sq, "_build", build)
    docs, last = mine.append_docs([event(1), event(2), event(1)])
    assert [d is not None for d in docs] == [True, True, False] and last == 4
    # mine outside the lock, the other writer's, then mine again after the head it left
    assert [h[0] for h in calls] == [0, 0, 2] and calls[0][1] == GENESIS
    report = mine.verify()
    assert report.ok and report.checked == 4, report.problems
    assert [e["event_id"] for e in mine.iter_events()] == [event(n)["event_id"] for n in (100, 101, 1, 2)]
    mine.close()
    other.close()
