"""`shuwei soc ingest FILE` with detection in a second process (soc/ingest_split.py): the same
stored events, chain and alerts as in-line ingest, and a detector that dies loses nothing."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from soc.traffic import generate
from tests.soc.pipeline_helpers import traffic_catalog


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return traffic_catalog(tmp_path_factory)


@pytest.fixture()
def day(tmp_path: Path) -> Path:
    traffic = generate(3000, seed=5)
    lines = [json.dumps(e, ensure_ascii=False) for e in traffic.history + traffic.day]
    lines[10:10] = ["not json", json.dumps({"ts": "2026-03-02T00:00:00+08:00", "event_id": "x"})]
    path = tmp_path / "day.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _use(data_dir: Path, catalog: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    from classifier.settings import get_settings

    data_dir.mkdir()
    shutil.copy(catalog, data_dir / "catalog.db")
    monkeypatch.setenv("SHUWEI_DATA_DIR", str(data_dir))
    monkeypatch.setenv("SHUWEI_PLAYBOOK_DIR", str(tmp_path / "no-playbooks"))
    get_settings.cache_clear()
    return get_settings()


def _in_line(settings: Any, path: Path) -> Any:
    from soc.ingest import IngestPipeline

    pipe = IngestPipeline.from_settings(settings)
    try:
        return pipe.ingest_file(path)
    finally:
        pipe.close()


def _state(db: Path) -> dict[str, Any]:
    """What an ingest leaves: events with their chain, the head, alerts by content, detection."""
    conn = sqlite3.connect(db)
    try:
        alerts = sorted((a["rule_id"], json.dumps(a["group"], sort_keys=True), a["first_seen"],
                         a["last_seen"], tuple(a["event_ids"]), a["count"], a["severity"])
                        for a in (json.loads(d) for (d,) in conn.execute("SELECT doc FROM alerts")))
        return {"events": conn.execute("SELECT seq, event_id, doc, chain_hash FROM events ORDER BY seq").fetchall(),
                "head": conn.execute("SELECT last_seq, head_hash FROM chain_head").fetchall(),
                "alerts": alerts,
                "cursor": conn.execute("SELECT seq, latest FROM detection_cursor").fetchall(),
                "baselines": conn.execute("SELECT user, state FROM anomaly_users ORDER BY user").fetchall()}
    finally:
        conn.close()


def _detected(db: Path) -> int:
    conn = sqlite3.connect(db, timeout=30)
    try:
        row = conn.execute("SELECT seq FROM detection_cursor").fetchone()
        return int(row[0]) if row else 0
    except sqlite3.OperationalError:  # the detector has not made its tables yet
        return 0
    finally:
        conn.close()


def _small_batches(monkeypatch: pytest.MonkeyPatch, size: int) -> None:
    from soc.ingest import IngestPipeline

    made = IngestPipeline.from_settings.__func__  # type: ignore[attr-defined]

    def from_settings(cls: type[IngestPipeline], *a: Any, **k: Any) -> IngestPipeline:
        pipe = made(cls, *a, **k)
        pipe.batch_size = size
        return pipe
    monkeypatch.setattr(IngestPipeline, "from_settings", classmethod(from_settings))


def test_split_ingest_stores_and_alerts_exactly_as_in_line(tmp_path, catalog, day, monkeypatch):
    from soc import ingest_split

    _small_batches(monkeypatch, 700)  # several batches in flight between the two processes
    lines = day.read_text(encoding="utf-8").splitlines(keepends=True)
    first = tmp_path / "first.jsonl"  # a store with detection state already: the detector
    first.write_text("".join(lines[:1000]), encoding="utf-8")  # resumes, then gets the rest
    inline = _use(tmp_path / "inline", catalog, tmp_path, monkeypatch)
    _in_line(inline, first)
    expected = _in_line(inline, day)
    settings = _use(tmp_path / "split", catalog, tmp_path, monkeypatch)
    _in_line(settings, first)
    split = ingest_split.ingest_file(settings, day)
    assert (split.accepted, split.duplicates, split.rejected) == (
        expected.accepted, expected.duplicates, expected.rejected)
    assert [r.get("line") for r in split.rejected] == [11, 12]
    assert split.duplicates == 998 and split.accepted == len(lines) - 1000
    assert sorted(a["rule_id"] for a in split.alerts) == sorted(a["rule_id"] for a in expected.alerts)
    want, got = _state(tmp_path / "inline" / "soc.db"), _state(tmp_path / "split" / "soc.db")
    assert len(want["alerts"]) >= 5
    assert got == want
    again = ingest_split.ingest_file(_use(tmp_path / "split2", catalog, tmp_path, monkeypatch), day)
    assert again.accepted == len(lines) - 2  # a fresh store: every valid line


def test_a_dead_detector_is_one_error_and_the_next_ingest_catches_up(tmp_path, catalog, day, monkeypatch):
    from soc import ingest_split
    from soc.ingest import IngestPipeline

    _small_batches(monkeypatch, 700)
    _in_line(_use(tmp_path / "whole", catalog, tmp_path, monkeypatch), day)
    settings = _use(tmp_path / "killed", catalog, tmp_path, monkeypatch)
    db = tmp_path / "killed" / "soc.db"
    procs: list[subprocess.Popen[bytes]] = []
    real_popen = subprocess.Popen

    def popen(*a: Any, **k: Any) -> subprocess.Popen[bytes]:
        procs.append(real_popen(*a, **k))
        return procs[-1]
    monkeypatch.setattr(ingest_split.subprocess, "Popen", popen)
    done = IngestPipeline.batch_done
    calls = [0]

    def batch_done(self: IngestPipeline, *a: Any) -> None:
        done(self, *a)
        calls[0] += 1
        if calls[0] == 4:  # the detector dies, having detected a batch, while the durable side goes on
            end = time.monotonic() + 60
            while _detected(db) < 700 and time.monotonic() < end:
                time.sleep(0.02)
            procs[0].kill()
            procs[0].wait()
    monkeypatch.setattr(IngestPipeline, "batch_done", batch_done)
    with pytest.raises(ingest_split.DetectionStopped, match="detection process stopped"):
        ingest_split.ingest_file(settings, day)
    monkeypatch.setattr(IngestPipeline, "batch_done", done)
    stored = _state(db)
    assert len(stored["events"]) >= 5 * 700  # what the durable side stored stays stored
    assert stored["cursor"][0][0] < stored["head"][0][0]  # ... and part of it was not detected
    _in_line(settings, day)  # the next ingest detects it and stores the rest
    assert _state(db) == _state(tmp_path / "whole" / "soc.db")


def test_the_detector_decodes_stored_documents_as_the_json_lines_reader() -> None:
    # The child skips jsonl.loads' checks its input cannot fail, not the exact big integers.
    from classifier import jsonl
    _loads = jsonl.loads_dumped

    for value in ({"a": 1, "b": "x" * 30, "c": [1.5, None, True]}, {"n": 12345678901234567890123},
                  {"n": -9223372036854775809, "s": "1234567890123456789012"}, {"u": "数据 ✓"}):
        doc = jsonl.dumps(value)
        assert _loads(doc) == jsonl.loads(doc) == value
        assert type(_loads(doc).get("n", 0)) is int
