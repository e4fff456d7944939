"""Readers on real files of each format (incl. a GBK CSV and an SQLite DB), scanned end to end."""

from __future__ import annotations

import csv
import json
import sqlite3
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from faker import Faker
from openpyxl import Workbook

from classifier import samples
from classifier.scan import scan_sources

N = 300


def _rows() -> list[dict]:
    fake = Faker("zh_CN")
    fake.seed_instance(11)
    return [{"姓名": fake.name(), "身份证号": fake.ssn(), "手机": fake.phone_number(),
             "金额": str(i * 3)} for i in range(N)]


EXPECTED = {"姓名": "PERSON_NAME", "身份证号": "CN_RESIDENT_ID", "手机": "CN_MOBILE", "金额": None}


def _write_csv(path: Path, encoding: str, delimiter: str = ",") -> None:
    with open(path, "w", newline="", encoding=encoding) as fh:
        w = csv.DictWriter(fh, fieldnames=list(EXPECTED), delimiter=delimiter)
        w.writeheader()
        w.writerows(_rows())


def _check(result: dict, rows: int = N) -> None:
    assert result["rows_total"] == rows
    assert {c["name"]: c["entity"] for c in result["columns"]} == EXPECTED
    assert result["grade"] == "L4"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_csv_encodings(tmp_path, settings, encoding):
    path = tmp_path / f"people_{encoding}.csv"
    _write_csv(path, encoding)
    (result,) = scan_sources([str(path)], settings)
    _check(result)
    assert result["dataset"] == f"people_{encoding}"


def test_tsv(tmp_path, settings):
    path = tmp_path / "people.tsv"
    _write_csv(path, "utf-8", "\t")
    _check(scan_sources([str(path)], settings)[0])


def test_json_lines_and_array(tmp_path, settings):
    lines, array = tmp_path / "p.jsonl", tmp_path / "p.json"
    lines.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in _rows()), encoding="utf-8")
    array.write_text(json.dumps(_rows(), ensure_ascii=False, indent=1), encoding="utf-8")
    for result in scan_sources([str(lines), str(array)], settings):
        _check(result)


def test_parquet_and_xlsx(tmp_path, settings):
    pq_path, xl_path = tmp_path / "p.parquet", tmp_path / "p.xlsx"
    table = pa.Table.from_pylist(_rows())
    pq.write_table(table, pq_path, row_group_size=50)
    wb = Workbook()
    ws = wb.active
    ws.append(list(EXPECTED))
    for r in _rows():
        ws.append(list(r.values()))
    wb.save(xl_path)
    for result in scan_sources([str(pq_path), str(xl_path)], settings):
        _check(result)


def test_sqlite_tables(tmp_path, settings):
    db = tmp_path / "pop.db"
    with sqlite3.connect(db) as conn:
        conn.execute('CREATE TABLE persons (id INTEGER PRIMARY KEY, "姓名" TEXT, "身份证号" TEXT, "手机" TEXT, "金额" TEXT)')
        conn.executemany("INSERT INTO persons VALUES (NULL,?,?,?,?)", [tuple(r.values()) for r in _rows()])
        conn.execute("CREATE TABLE orgs (code TEXT, name TEXT)")
        conn.executemany("INSERT INTO orgs VALUES (?,?)", [(samples.uscc(__import__('random').Random(i)), "x") for i in range(50)])
    conn.close()
    results = scan_sources([f"sqlite:///{db}#persons", f"sqlite:///{db}"], settings, force=True)
    assert [r["dataset"] for r in results] == ["persons", "orgs", "persons"]
    assert results[0]["source"].endswith("#persons")
    entities = {c["name"]: c["entity"] for c in results[0]["columns"]}
    assert entities == {"id": None, **EXPECTED}
    assert {c["name"]: c["entity"] for c in results[1]["columns"]}["code"] == "CN_USCC"


def test_headerless_csv_judged_on_values(tmp_path, settings):
    path = tmp_path / "noheader.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        for r in _rows():
            w.writerow([r["身份证号"], r["手机"], "2024-01-0%d" % (1 + int(r["金额"]) % 9)])
    (result,) = scan_sources([str(path)], settings)
    assert result["rows_total"] == N  # the first line is data, not a header
    assert [c["entity"] for c in result["columns"]] == ["CN_RESIDENT_ID", "CN_MOBILE", None]
    assert all("column name" not in c["reasons"] for c in result["columns"])


def test_reservoir_sample_covers_the_whole_stream(tmp_path, settings):
    """The head is decoys, the tail is real IDs: a head-only sample would miss them."""
    fake = Faker("zh_CN")
    fake.seed_instance(3)
    path = tmp_path / "tail.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["code"])
        for i in range(6000):
            w.writerow([f"X{i:08d}" if i < 2000 else fake.ssn()])
    (result,) = scan_sources([str(path)], settings, force=True)
    assert result["rows_scanned"] == 3000 and result["rows_total"] == 6000
    col = result["columns"][0]
    assert col["entity"] == "CN_RESIDENT_ID"
    assert 0.55 < col["hit_ratio"] < 0.78  # ≈ 2/3 of a uniform sample, not 0 (head) or 1 (tail)


def test_headerless_birth_date_is_recognised_from_the_id_column(tmp_path, settings):
    fake = Faker("zh_CN")
    fake.seed_instance(8)
    path = tmp_path / "ids.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        for _ in range(100):
            sfz = fake.ssn()
            w.writerow([sfz, f"{sfz[6:10]}-{sfz[10:12]}-{sfz[12:14]}", fake.date_this_decade().isoformat()])
    (result,) = scan_sources([str(path)], settings)
    assert [c["entity"] for c in result["columns"]] == ["CN_RESIDENT_ID", "DATE_OF_BIRTH", None]
    assert "resident ID column 'column_1'" in result["columns"][1]["reasons"][1]


def test_json_array_larger_than_the_read_chunk(tmp_path, settings):
    rows = [{"id": i, "email": f"user{i}@example.com", "note": "备注" * 20} for i in range(15000)]
    path = tmp_path / "big.json"
    path.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    assert path.stat().st_size > 2 << 20  # spans several 1 MiB reads
    (result,) = scan_sources([str(path)], settings, full=True)
    assert result["rows_total"] == 15000
    assert {c["name"]: c["entity"] for c in result["columns"]} == {"id": None, "email": "EMAIL_ADDRESS", "note": None}
