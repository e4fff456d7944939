"""Audit integrity on SQLite against an insider who can write soc.db (and nothing else): every
tampering fails verify, named with what and where (issue 16)."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from soc.chain import GENESIS, link
from soc.integrity.anchors import NO_ANCHORS
from soc.integrity.verify import NO_KEY
from soc.store.sqlite import SqliteEventStore
from tests.soc.integrity_helpers import DAY_FILE, checkpoint_key, resign_with_own_key, signing
from tests.soc.pipeline_helpers import event


@pytest.fixture()
def world(tmp_path: Path) -> Iterator[tuple[SqliteEventStore, sqlite3.Connection, Path]]:
    """30 events in three batches of 10: signed checkpoints 1..3 at seq 10, 20, 30, anchored."""
    key = checkpoint_key(tmp_path)
    anchors = tmp_path / "anchors"
    store = SqliteEventStore(tmp_path / "soc.db", signing=signing(key, anchors))
    for b in range(3):
        store.append([event(b * 10 + i) for i in range(1, 11)])
    db = sqlite3.connect(tmp_path / "soc.db", isolation_level=None)
    yield store, db, anchors
    store.close()
    db.close()


def problems(store: SqliteEventStore, anchors: Path | None = None) -> list[tuple[str, int | None, str]]:
    report = store.verify(anchors)
    return [(p.kind, p.seq, p.detail) for p in report.problems]


def recompute(db: sqlite3.Connection) -> None:
    """The insider's move: rebuild the SM3 chain, its head and the daily checkpoints to match."""
    prev = GENESIS
    rows = db.execute("SELECT seq, doc FROM events ORDER BY seq").fetchall()
    for seq, doc in rows:
        prev = link(prev, doc)
        db.execute("UPDATE events SET chain_hash = ? WHERE seq = ?", (prev, seq))
    last = rows[-1][0]
    db.execute("UPDATE chain_head SET last_seq = ?, head_hash = ?", (last, prev))
    db.execute("UPDATE chain_checkpoints SET last_seq = ?, head_hash = ?", (last, prev))


def edit(db: sqlite3.Connection, seq: int) -> None:
    db.execute("UPDATE events SET doc = replace(doc, '\"u1\"', '\"u9\"'), user = 'u9' WHERE seq = ?", (seq,))


def test_intact_store_verifies_with_signed_checkpoints(world):
    store, _, anchors = world
    report = store.verify()
    assert report.ok and report.signed == 3 and report.checked == 30
    assert report.warnings == []
    assert len((anchors / DAY_FILE).read_text().splitlines()) == 3


def test_edit_is_named(world):
    store, db, _ = world
    edit(db, 5)
    assert [(k, s) for k, s, _ in problems(store)] == [("edited", 5)]


def test_edit_with_recomputed_chain_fails_the_signed_checkpoint(world):
    store, db, _ = world
    edit(db, 15)
    recompute(db)
    assert problems(store) == [("checkpoint", 20, "signed checkpoint 2 (seq 20, 2026-03-02T02:00:00.000+00:00) "
                                "does not match the chain: events in seq 11..20 were edited, inserted or "
                                "reordered and the chain recomputed (1 later signed checkpoint(s) differ as well)")]


def test_full_recompute_from_the_first_event(world):
    store, db, _ = world
    edit(db, 1)
    recompute(db)
    (found,) = problems(store)
    assert found[:2] == ("checkpoint", 10) and "events in seq 1..10" in found[2]
    assert "2 later signed checkpoint(s) differ" in found[2]


def test_deletion_in_the_middle_is_named(world):
    store, db, _ = world
    db.execute("DELETE FROM events WHERE seq IN (12, 13)")
    kinds = problems(store)
    assert kinds[0][:2] == ("deleted", 12) and "events seq 12..13 are missing" in kinds[0][2]
    recompute(db)
    assert {("deleted", 12), ("checkpoint", 20)} <= {(k, s) for k, s, _ in problems(store)}


def test_insertion_with_recomputed_chain(world):
    store, db, _ = world
    db.execute("UPDATE events SET seq = seq + 100 WHERE seq > 14")
    db.execute("UPDATE events SET seq = seq - 99 WHERE seq > 100")
    fake = db.execute("SELECT * FROM events WHERE seq = 14").fetchone()
    cols = [r[1] for r in db.execute("PRAGMA table_info(events)")]
    row = dict(zip(cols, fake), seq=15, event_id="fake-1")
    row["doc"] = row["doc"].replace("t-000014", "fake-1")
    db.execute(f"INSERT INTO events ({','.join(cols)}) VALUES ({','.join('?' * len(cols))})",
               [row[c] for c in cols])
    recompute(db)
    found = problems(store)
    assert found[0][:2] == ("checkpoint", 20) and "events in seq 11..20" in found[0][2]


def test_reordering_is_named_and_fails_signatures_after_recompute(world):
    store, db, _ = world
    db.execute("UPDATE events SET seq = -1 WHERE seq = 22")
    db.execute("UPDATE events SET seq = 22 WHERE seq = 23")
    db.execute("UPDATE events SET seq = 23 WHERE seq = -1")
    found = {(k, s) for k, s, _ in problems(store)}
    assert {("reordered", 22), ("reordered", 23)} <= found and {k for k, _ in found} == {"reordered"}
    recompute(db)
    assert [(k, s) for k, s, _ in problems(store)] == [("checkpoint", 30)]


def test_forged_purge_record(world):
    store, db, _ = world
    last_hash = db.execute("SELECT chain_hash FROM events WHERE seq = 6").fetchone()[0]
    db.execute("DELETE FROM events WHERE seq BETWEEN 3 AND 6")
    db.execute("INSERT INTO chain_purges VALUES (3, 6, 4, ?, 'forged')", (last_hash,))
    found = problems(store)
    assert found[0] == ("forged-purge", 3, "purge record for seq 3..6 (4 events) is in no signed purge "
                        "checkpoint: the events were deleted and the purge record forged")
    assert found[1][:2] == ("deleted", 3)


def test_signed_purge_verifies_and_an_edited_purge_record_does_not(tmp_path):
    from datetime import datetime, timezone

    key = checkpoint_key(tmp_path)
    store = SqliteEventStore(tmp_path / "soc.db", signing=signing(key, None))
    store.append([event(i, ts="2025-01-05T10:00:00+08:00") for i in range(1, 6)])
    store.append([event(i) for i in range(6, 16)])
    assert store.purge(datetime(2026, 1, 1, tzinfo=timezone.utc), audit_event_id="p1") == 5
    report = store.verify()
    assert report.ok and report.purged == 5 and report.warnings == [NO_ANCHORS]
    db = sqlite3.connect(tmp_path / "soc.db", isolation_level=None)
    db.execute("UPDATE chain_purges SET count = 4")
    assert [p.kind for p in store.verify().problems][:1] == ["forged-purge"]
    store.close()


def test_tail_deletion_with_recomputed_head_and_checkpoint(world):
    store, db, _ = world
    db.execute("DELETE FROM events WHERE seq > 25")
    recompute(db)
    assert problems(store) == [("deleted", 26, "events seq 26..30 are missing at the end of the chain: signed "
                                "checkpoint 3 (seq 30, 2026-03-02T02:00:00.000+00:00) covers them (tail "
                                "deleted, head and checkpoints recomputed)")]


def test_tail_and_its_checkpoint_deleted_is_caught_by_the_anchors_only(world):
    store, db, anchors = world
    db.execute("DELETE FROM events WHERE seq > 25")
    db.execute("DELETE FROM chain_signed WHERE n = 3")
    recompute(db)
    blind = SqliteEventStore(store.path, signing=signing(store.signing.key, None))
    report = blind.verify()
    blind.close()
    assert report.ok and NO_ANCHORS in report.warnings  # without anchors: undetectable, and said so
    report = store.verify()  # soc.anchors is set for this store
    assert not report.ok
    (found,) = report.problems
    assert found.kind == "rollback" and found.seq == 30
    assert found.detail.startswith("the store no longer reaches anchored signed checkpoint 3 (seq 30, "
                                   f"2026-03-02T02:00:00.000+00:00) of soc.db ({DAY_FILE}:3); its last signed "
                                   "checkpoint is 2 (seq 20)")


def test_restoring_an_older_copy_fails_against_the_anchors(tmp_path):
    key = checkpoint_key(tmp_path)
    anchors = tmp_path / "anchors"
    store = SqliteEventStore(tmp_path / "soc.db", signing=signing(key, anchors))
    store.append([event(i) for i in range(1, 21)])
    backup, source = sqlite3.connect(tmp_path / "old.db"), sqlite3.connect(tmp_path / "soc.db")
    source.backup(backup)
    backup.close()
    source.close()
    store.append([event(i) for i in range(21, 41)])
    store.close()
    shutil.copy(tmp_path / "old.db", tmp_path / "soc.db")
    for suffix in ("-wal", "-shm"):
        (tmp_path / f"soc.db{suffix}").unlink(missing_ok=True)
    no_anchor = SqliteEventStore(tmp_path / "soc.db", signing=signing(key, None))
    report = no_anchor.verify()
    assert report.ok and NO_ANCHORS in report.warnings  # without anchors it cannot tell
    found = [(p.kind, p.detail) for p in no_anchor.verify(anchors).problems]
    no_anchor.close()
    assert found == [("rollback", "the store no longer reaches anchored signed checkpoint 2 (seq 40, "
                      f"2026-03-02T02:00:00.000+00:00) of soc.db ({DAY_FILE}:2); its last signed checkpoint "
                      "is 1 (seq 20): an older copy was restored or the tail deleted")]


def test_checkpoint_signed_by_another_key(world):
    store, db, _ = world
    edit(db, 25)
    recompute(db)
    body, sig = db.execute("SELECT body, signature FROM chain_signed WHERE n = 3").fetchone()
    from soc.integrity.checkpoints import parse

    head = db.execute("SELECT head_hash FROM chain_head").fetchone()[0]
    forged = resign_with_own_key(parse(body, sig), head=head)
    db.execute("UPDATE chain_signed SET body = ?, signature = ? WHERE n = 3", (forged.body, forged.signature))
    found = problems(store)
    assert found[0] == ("forged-checkpoint", 30, "signed checkpoint 3 (seq 30, 2026-03-02T02:00:00.000+00:00): "
                        "signature does not verify under this deployment's key soc-checkpoint v1 (forged, "
                        "edited, or signed by another key)")


def test_deleted_checkpoints_are_named(world):
    store, db, _ = world
    db.execute("DELETE FROM chain_signed WHERE n = 2")
    assert problems(store) == [("deleted", None, "signed checkpoint(s) 2..2 of soc.db are missing before "
                                "signed checkpoint 3 (seq 30, 2026-03-02T02:00:00.000+00:00): deleted from "
                                "the store")]
    db.execute("DELETE FROM chain_signed")
    assert ("deleted", None, "no signed checkpoint covers the 30 events of the chain: the signed checkpoints "
            "were deleted (or the store was written without a master key)") in problems(store)


def test_rolled_back_anchor_file(world, tmp_path):
    store, _, anchors = world
    saved = (anchors / DAY_FILE).read_bytes()
    store.append([event(i) for i in range(31, 41)])
    (anchors / DAY_FILE).write_bytes(saved)  # the anchor file restored from an older copy
    assert problems(store) == [("anchor", 40, f"anchor file {DAY_FILE} lacks signed checkpoint 4 (seq 40, "
                                "2026-03-02T02:00:00.000+00:00) of soc.db, which was anchored: the anchor file "
                                "was rolled back or truncated (1 checkpoint(s) missing)")]


def test_forged_anchor_line(world):
    store, db, anchors = world
    body, sig = db.execute("SELECT body, signature FROM chain_signed WHERE n = 3").fetchone()
    from soc.integrity.checkpoints import parse

    forged = resign_with_own_key(parse(body, sig), n=4, seq=40)
    with open(anchors / DAY_FILE, "ab") as fh:
        fh.write(forged.as_line() + b"\n")
    (found,) = problems(store)
    assert found[0] == "anchor" and found[2].startswith(f"anchor {DAY_FILE}:4: signed checkpoint 4 (seq 40")


def test_unsigned_tail_is_a_warning_and_close_signs_it(tmp_path):
    key = checkpoint_key(tmp_path)
    store = SqliteEventStore(tmp_path / "soc.db", signing=signing(key, None, every=100))
    store.append([event(i) for i in range(1, 6)])  # a chain's first events are signed at once
    store.append([event(i) for i in range(6, 8)])
    report = store.verify()
    assert report.ok and report.signed == 1
    assert report.warnings[0].startswith("events seq 6..7 are not yet covered by a signed checkpoint "
                                         "(signed every 100 events or 60 minutes")
    store.close()
    again = SqliteEventStore(tmp_path / "soc.db", signing=signing(key, None, every=100))
    report = again.verify()
    assert report.ok and report.signed == 2 and report.warnings == [NO_ANCHORS]
    again.close()


def test_without_master_key_verify_says_what_it_cannot_show(tmp_path):
    store = SqliteEventStore(tmp_path / "soc.db")
    store.append([event(1)])
    report = store.verify()
    assert report.ok and report.warnings == [NO_KEY]
    store.close()


def test_cli_verify_names_a_restored_copy(settings, tmp_path, monkeypatch):
    import os

    from typer.testing import CliRunner

    from classifier.settings import get_settings
    from soc.cli.main import app

    monkeypatch.setenv("SHUWEI_MASTER_KEY", os.urandom(32).hex())
    get_settings.cache_clear()
    runner = CliRunner()
    events = tmp_path / "e.jsonl"
    import json

    def ingest(first: int, last: int) -> None:
        events.write_text("".join(json.dumps(event(i)) + "\n" for i in range(first, last)))
        assert runner.invoke(app, ["soc", "ingest", str(events)]).exit_code == 0

    ingest(1, 5)
    db = settings.data_dir / "soc.db"
    backup, source = sqlite3.connect(tmp_path / "old.db"), sqlite3.connect(db)
    source.backup(backup)
    backup.close()
    source.close()
    anchors = tmp_path / "anchors"
    monkeypatch.setenv("SHUWEI_SOC__ANCHORS", str(anchors))
    get_settings.cache_clear()
    ingest(5, 9)  # checkpoint 2 at seq 8 is anchored
    ok = runner.invoke(app, ["soc", "verify"])
    assert ok.exit_code == 0 and "ok: 8 events verified, 0 purged by retention, 2 signed checkpoints" in ok.stdout
    shutil.copy(tmp_path / "old.db", db)
    for suffix in ("-wal", "-shm"):
        db.with_name(f"soc.db{suffix}").unlink(missing_ok=True)
    monkeypatch.delenv("SHUWEI_SOC__ANCHORS")
    get_settings.cache_clear()
    blind = runner.invoke(app, ["soc", "verify"])
    assert blind.exit_code == 0 and f"warning: {NO_ANCHORS}" in blind.stdout
    bad = runner.invoke(app, ["soc", "verify", "--anchors", str(anchors), "-f", "json"])
    assert bad.exit_code == 1
    (problem,) = json.loads(bad.stdout)["problems"]
    assert problem["kind"] == "rollback" and problem["seq"] == 8
    assert problem["detail"].startswith("the store no longer reaches anchored signed checkpoint 2 (seq 8, ")
    assert "its last signed checkpoint is 1 (seq 4)" in problem["detail"]


def test_idle_writer_signs_after_m_minutes(tmp_path):
    import time as _time

    from soc.integrity.checkpoints import CheckpointPolicy, Signing
    from tests.soc.integrity_helpers import SIGNED_AT

    now = [0.0]
    policy = CheckpointPolicy(events=1000, seconds=1.0, clock=lambda: now[0], now=lambda: SIGNED_AT)
    store = SqliteEventStore(tmp_path / "soc.db", signing=Signing(checkpoint_key(tmp_path), policy, None))
    store.append([event(i) for i in range(1, 6)])
    store.append([event(i) for i in range(6, 9)])
    assert store.verify().signed == 1
    now[0] = 1.5  # the policy's clock: M minutes after the first unsigned event
    deadline = _time.monotonic() + 10
    while store.verify().signed < 2 and _time.monotonic() < deadline:
        _time.sleep(0.1)
    db = sqlite3.connect(tmp_path / "soc.db")
    reasons = [body for (body,) in db.execute("SELECT body FROM chain_signed ORDER BY n")]
    assert len(reasons) == 2 and '"reason":"time"' in reasons[1] and '"seq":8' in reasons[1]
    store.close()
