"""Ingest: validation per contract, rejection with line/index and field, idempotency, enrichment."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from soc.ingest import IngestPipeline
from tests.soc.pipeline_helpers import PEOPLE, RULE_BULK, event, grade, use_rules


@pytest.fixture()
def pipe(settings, tmp_path, monkeypatch):
    s = use_rules(tmp_path, monkeypatch, RULE_BULK)
    p = IngestPipeline.from_settings(s)
    yield p
    p.close()


BAD = [
    ({k: v for k, v in event(2).items() if k != "user"}, "user", "missing"),
    (event(2, rows=-1), "rows", "greater than or equal to 0"),
    (event(2, rows="12"), "rows", "valid integer"),
    (event(2, rows=True), "rows", "valid integer"),
    (event(2, bytes=1.5), "bytes", "valid integer"),
    (event(2, action="downlaod"), "action", "unknown action (a string of 8 characters)"),
    (event(2, result="ok"), "result", ""),
    (event(2, ts="2026-03-02T10:00:00"), "ts", "RFC 3339"),
    (event(2, ts="2026-03-02"), "ts", "RFC 3339"),
    (event(2, ts="2026-02-30T10:00:00+08:00"), "ts", "not a calendar date-time"),
    (event(2, fields=["a", 3]), "fields[1]", "valid string"),
    (event(2, extra=[1]), "extra", ""),
    (event(2, event_id=""), "event_id", ""),
]


@pytest.mark.parametrize(("bad", "field", "reason"), BAD)
def test_bad_event_rejected_with_index_and_field_rest_stored(pipe, bad, field, reason):
    res = pipe.ingest([event(1), bad, event(3)], origin="api")
    assert res.accepted == 2
    assert len(res.rejected) == 1
    rej = res.rejected[0]
    assert rej["index"] == 1 and rej["field"] == field and reason in rej["reason"]
    assert {e["event_id"] for e in pipe.store.iter_events()} == {"t-000001", "t-000003"}


def test_file_lines_not_json_and_not_objects(pipe, tmp_path: Path):
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join([json.dumps(event(1)), "{not json", "", "[1, 2]",
                               json.dumps(event(5, rows=-3)), json.dumps(event(6))]) + "\n",
                    encoding="utf-8")
    res = pipe.ingest_file(path)
    assert res.accepted == 2
    assert [(r["line"], r["field"]) for r in res.rejected] == [(2, None), (4, None), (5, "rows")]
    assert "not JSON" in res.rejected[0]["reason"]
    assert "JSON object" in res.rejected[1]["reason"]


def test_unknown_fields_are_kept(pipe):
    pipe.ingest([event(1, new_field={"a": 1}, extra={"setting": "x"})], origin="api")
    (stored,) = pipe.store.iter_events()
    assert stored["new_field"] == {"a": 1} and stored["extra"] == {"setting": "x"}


def test_idempotent_on_event_id_no_second_alert(pipe):
    batch = [event(1, action="export", rows=5000), event(2)]
    first = pipe.ingest(batch, origin="api")
    assert (first.accepted, first.duplicates) == (2, 0)
    assert len(first.alerts) == 1
    again = pipe.ingest(batch + [event(1, action="export", rows=5000)], origin="api")
    assert (again.accepted, again.duplicates) == (0, 3)
    assert again.alerts == []
    assert pipe.store.count() == 2
    (alert,) = pipe.alerts.list()
    assert alert["count"] == 1


def test_enrichment_from_catalog_replaces_emitter_values(settings, tmp_path, monkeypatch):
    s = use_rules(tmp_path, monkeypatch, RULE_BULK)
    grade(s, "pop_basic", PEOPLE)
    p = IngestPipeline.from_settings(s)
    try:
        p.ingest([
            event(1, dataset="pop_basic", fields=["姓名", "备注"], data_level="L1",
                  sensitive_fields=["x"], categories=["fake"], off_hours=True),
            event(2, dataset="pop_basic"),                                       # no fields
            event(3, dataset="pop_basic", fields=["备注"]),
            event(4, dataset="unknown_ds", fields=["a"], data_level="L4"),       # not in catalog
            event(5, ts="2026-03-02T22:30:00+08:00"),                            # Monday night
            event(6, ts="2026-03-07T10:00:00+08:00"),                            # Saturday
            event(7, ts="2026-03-02T02:30:00Z"),                                 # 10:30 in Shanghai
        ], origin="api")
        got = {e["event_id"]: e for e in p.store.iter_events()}
    finally:
        p.close()
    e1 = got["t-000001"]
    assert e1["data_level"] == "L3"
    assert e1["sensitive_fields"] == ["姓名"]
    assert e1["categories"] == ["个人基本资料"]
    assert e1["off_hours"] is False
    assert got["t-000002"]["data_level"] == "L4"
    assert got["t-000002"]["categories"] == ["个人基本资料", "个人身份信息"]
    assert got["t-000003"]["data_level"] == "L1" and got["t-000003"]["sensitive_fields"] == []
    assert "data_level" not in got["t-000004"] and "sensitive_fields" not in got["t-000004"]
    assert got["t-000005"]["off_hours"] is True
    assert got["t-000006"]["off_hours"] is True
    assert got["t-000007"]["off_hours"] is False


def test_working_hours_and_timezone_from_settings(settings, tmp_path, monkeypatch):
    s = use_rules(tmp_path, monkeypatch, RULE_BULK, timezone="UTC")
    p = IngestPipeline.from_settings(s)
    try:
        p.ingest([event(1, ts="2026-03-02T10:00:00+08:00")], origin="api")  # 02:00 UTC
        (e,) = p.store.iter_events()
    finally:
        p.close()
    assert e["off_hours"] is True


def test_outbox_ingest_resumes_after_offset(pipe, settings):
    from classifier import audit

    audit.emit(audit.make_event("key_rotate", user="admin"), settings.data_dir)
    audit.emit(audit.make_event("decrypt", user="svc_x", dataset="d1"), settings.data_dir)
    first = pipe.ingest_outbox(settings.data_dir)
    assert first.accepted == 2 and not first.rejected
    audit.emit(audit.make_event("mask", user="svc_y"), settings.data_dir)
    with open(audit.outbox_path(settings.data_dir), "a", encoding="utf-8") as fh:
        fh.write('{"half": ')  # a writer mid-line: left for the next run
    second = pipe.ingest_outbox(settings.data_dir)
    assert second.accepted == 1 and not second.rejected and second.duplicates == 0
    assert {e["user"] for e in pipe.store.iter_events()} == {"admin", "svc_x", "svc_y"}


def test_audit_sink_routes_suite_events_into_the_store(pipe):
    from classifier import audit

    audit.set_audit_sink(pipe.sink)
    try:
        audit.emit(audit.make_event("classify_review", user="owner1", dataset="pop_basic"))
    finally:
        audit.set_audit_sink(None)
    (e,) = pipe.store.iter_events()
    assert e["source"] == "shuwei" and e["action"] == "classify_review"


def test_live_stream_is_stored_and_alerted_without_waiting_for_a_full_batch(pipe):
    import os
    import threading
    import time

    from soc.ingest import follow

    read_fd, write_fd = os.pipe()
    results = []
    with os.fdopen(read_fd, encoding="utf-8") as reader, os.fdopen(write_fd, "w", encoding="utf-8") as writer:
        worker = threading.Thread(target=lambda: results.append(pipe.ingest(follow(reader), origin="stdin")))
        worker.start()
        writer.write(json.dumps(event(1, action="export", rows=5000)) + "\n")
        writer.flush()
        deadline = time.monotonic() + 5
        while not pipe.alerts.list() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert pipe.store.count() == 1 and len(pipe.alerts.list()) == 1  # while the stream is open
        writer.write("garbage\n")
    worker.join(5)
    assert results[0].accepted == 1 and results[0].rejected[0]["line"] == 2
