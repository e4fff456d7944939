"""Catalog: scans kept with their time, incremental skip, owner review wins, drift, audit events."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import pytest
from faker import Faker

from classifier.audit import outbox_path
from classifier.catalog import Catalog, FieldGrade
from classifier.errors import InputError
from classifier.scan import run_scan, scan_sources


def _write(path: Path, *, contact_is_mobile: bool = True, rows: int = 200) -> None:
    fake = Faker("zh_CN")
    fake.seed_instance(5)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["xm", "contact", "note"])
        for _ in range(rows):
            w.writerow([fake.name(), fake.phone_number() if contact_is_mobile else fake.email(), "ok"])


@pytest.fixture()
def people(tmp_path: Path) -> Path:
    path = tmp_path / "people.csv"
    _write(path)
    return path


def test_unchanged_source_is_skipped_unless_forced(settings, people):
    assert [o.skipped for o in run_scan([str(people)], settings)] == [False]
    assert [o.skipped for o in run_scan([str(people)], settings)] == [True]
    assert [o.skipped for o in run_scan([str(people)], settings, force=True)] == [False]
    os.utime(people, ns=(1, 1))  # same content, other mtime: rescanned
    assert [o.skipped for o in run_scan([str(people)], settings)] == [False]
    _write(people, rows=201)
    assert [o.skipped for o in run_scan([str(people)], settings)] == [False]
    history = Catalog.open(settings).show("people")["history"]
    assert len(history) == 4 and all(h["scanned_at"] for h in history)


def test_sqlite_table_skip_uses_row_count_and_max_key(tmp_path, settings):
    import sqlite3
    db = tmp_path / "t.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, phone TEXT)")
        conn.executemany("INSERT INTO t(phone) VALUES (?)", [(f"1381234{i:04d}",) for i in range(50)])
    url = f"sqlite:///{db}#t"
    assert [o.skipped for o in run_scan([url], settings)] == [False]
    assert [o.skipped for o in run_scan([url], settings)] == [True]
    with sqlite3.connect(db) as conn:
        conn.execute("INSERT INTO t(phone) VALUES ('13912345678')")
    assert [o.skipped for o in run_scan([url], settings)] == [False]


def test_field_grades_and_dataset_grade(settings, people):
    scan_sources([str(people)], settings)
    cat = Catalog.open(settings)
    grades = cat.field_grades("people")
    assert grades == {"xm": FieldGrade("PERSON_NAME", "L3", "个人基本资料", False),
                      "contact": FieldGrade("CN_MOBILE", "L3", "个人联系信息", False),
                      "note": FieldGrade(None, "L1", None, False)}
    assert cat.dataset_grade("people") == "L3"
    assert cat.field_grades("unknown") is None and cat.dataset_grade("unknown") is None


def test_review_wins_and_later_disagreement_is_drift(tmp_path, settings, people):
    scan_sources([str(people)], settings)
    cat = Catalog.open(settings)
    cat.review("people", "note", reviewer="王芳", comment="内部备注含病情", entity="MEDICAL_DIAGNOSIS", grade="L4")
    cat.review("people", "contact", reviewer="王芳", comment="确认", accept=True)
    assert cat.field_grades("people")["note"] == FieldGrade("MEDICAL_DIAGNOSIS", "L4", "个人健康生理信息", True)
    assert cat.dataset_grade("people") == "L4"
    assert cat.drift() == []  # the review itself is not drift
    # the contact column now holds e-mail addresses: the review still wins, the change is drift
    _write(people, contact_is_mobile=False)
    (result,) = scan_sources([str(people)], settings)
    contact = next(c for c in result["columns"] if c["name"] == "contact")
    assert contact["entity"] == "CN_MOBILE" and any("drift" in r for r in contact["reasons"])
    assert cat.field_grades("people")["contact"] == FieldGrade("CN_MOBILE", "L3", "个人联系信息", True)
    drift = cat.drift()
    assert [(d["column"], d["reviewed_entity"], d["scanned_entity"]) for d in drift] == [
        ("contact", "CN_MOBILE", "EMAIL_ADDRESS")]


def test_review_rejects_bad_requests(settings, people):
    scan_sources([str(people)], settings)
    cat = Catalog.open(settings)
    with pytest.raises(InputError, match="unknown dataset"):
        cat.review("nope", "x", reviewer="a", comment="b", accept=True)
    with pytest.raises(InputError, match="no such column"):
        cat.review("people", "x", reviewer="a", comment="b", accept=True)
    with pytest.raises(InputError, match="unknown entity"):
        cat.review("people", "xm", reviewer="a", comment="b", entity="NAME", grade="L3")
    with pytest.raises(InputError, match="reviewer name and a comment"):
        cat.review("people", "xm", reviewer="", comment="b", accept=True)


def test_scans_and_reviews_are_audited(settings, people):
    scan_sources([str(people)], settings)
    Catalog.open(settings).review("people", "xm", reviewer="李雷", comment="ok", accept=True)
    events = [json.loads(line) for line in outbox_path(settings.data_dir).read_text(encoding="utf-8").splitlines()]
    assert [e["action"] for e in events] == ["classify_review", "classify_review"]
    assert events[0]["extra"]["operation"] == "scan" and events[0]["dataset"] == "people"
    assert events[1]["user"] == "李雷" and events[1]["extra"]["operation"] == "accept"
    text = outbox_path(settings.data_dir).read_text(encoding="utf-8")
    with open(people, newline="", encoding="utf-8") as fh:
        values = [v for row in list(csv.reader(fh))[1:] for v in row[:2]]
    assert values and not [v for v in values if v in text]  # no raw name or phone in the audit trail
