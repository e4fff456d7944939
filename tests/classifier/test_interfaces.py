"""The API other areas consume: classify_records (no catalog write) and full scans across batches."""

from __future__ import annotations

import json

from faker import Faker

from classifier.catalog import Catalog, FieldGrade
from classifier.classify import classify_records
from classifier.scan import scan_sources


def test_classify_records_on_the_fly(settings):
    fake = Faker("zh_CN")
    fake.seed_instance(2)
    records = [{"sfzh": fake.ssn(), "xm": fake.name(), "qty": i} for i in range(30)]
    grades = classify_records(records, "adhoc", settings)
    assert grades == {"sfzh": FieldGrade("CN_RESIDENT_ID", "L4", "个人身份信息", False),
                      "xm": FieldGrade("PERSON_NAME", "L3", "个人基本资料", False),
                      "qty": FieldGrade(None, "L1", None, False)}
    assert Catalog.open(settings).list_datasets() == []


def test_full_scan_accumulates_batches_and_late_keys(tmp_path, monkeypatch, data_dir):
    monkeypatch.setenv("SHUWEI_CLASSIFY__BATCH_ROWS", "7")
    from classifier.settings import get_settings
    get_settings.cache_clear()
    settings = get_settings()
    fake = Faker("zh_CN")
    fake.seed_instance(4)
    path = tmp_path / "late.jsonl"
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(100):
            row = {"n": i, "email": fake.email()}
            if i >= 60:
                row["mobile"] = fake.phone_number()  # a key that appears only late in the stream
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    (result,) = scan_sources([str(path)], settings, full=True)
    assert result["rows_scanned"] == result["rows_total"] == 100
    cols = {c["name"]: c for c in result["columns"]}
    assert list(cols) == ["n", "email", "mobile"]
    assert cols["email"]["entity"] == "EMAIL_ADDRESS" and cols["email"]["hit_ratio"] == 1.0
    assert cols["mobile"]["entity"] == "CN_MOBILE" and "40 of 40" in cols["mobile"]["reasons"][-1]
