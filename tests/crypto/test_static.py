"""Static mode: same format out as in, streamed, k-anonymity refusal unless forced, audit."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from classifier.catalog import Catalog
from classifier.errors import InputError
from classifier.settings import Settings
from crypto.engine import Caller, MaskingEngine
from crypto.static import KAnonymityError, mask_file

NAMES = ["张伟", "王芳", "李娜", "刘洋", "陈静", "杨磊"]


def people(n: int) -> list[dict]:
    return [{"姓名": NAMES[i % 6], "联系电话": f"139{i:08d}", "出生日期": f"19{80 + i % 2}-0{1 + i % 9}-1{i % 10}",
             "性别": "男女"[i % 2], "区县": "东城区", "备注": f"r{i}"} for i in range(n)]


def seed(settings: Settings, dataset: str) -> None:
    cols = [("姓名", "PERSON_NAME", "L3"), ("联系电话", "CN_MOBILE", "L3"), ("出生日期", "DATE_OF_BIRTH", "L3"),
            ("性别", None, "L1"), ("区县", None, "L1"), ("备注", None, "L1")]
    Catalog.open(settings).record_scans([{"dataset": dataset, "source": "x", "columns": [
        {"name": n, "entity": e, "grade": g, "category": None} for n, e, g in cols]}])


@pytest.fixture()
def engine(settings: Settings) -> MaskingEngine:
    seed(settings, "people")
    return MaskingEngine.from_settings(settings)


def test_csv_roundtrip_same_format_and_k(engine: MaskingEngine, tmp_path: Path, outbox: Path) -> None:
    src, dst = tmp_path / "people.csv", tmp_path / "out" / "people_masked.csv"
    dst.parent.mkdir()
    rows = people(12_000)  # more than one chunk
    with open(src, "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    report = mask_file(engine, src, dst, Caller("u1", "analyst"))
    out = list(csv.DictReader(open(dst, encoding="utf-8", newline="")))
    assert len(out) == 12_000 and list(out[0]) == list(rows[0])
    assert out[0]["姓名"] == "张*" and out[0]["联系电话"] == "139****0000" and out[0]["出生日期"] == "1980s"
    assert out[5]["备注"] == "r5"
    assert report["quasi_identifiers"] == ["出生日期", "性别", "区县"]
    assert report["k"] == 6000 and report["written"] and report["rows"] == 12_000
    events = [json.loads(x) for x in outbox.read_text(encoding="utf-8").splitlines()]
    assert [e["extra"]["operation"] for e in events if e["action"] == "export"] == ["static_mask"]


def test_jsonl_below_k_is_refused_unless_forced(engine: MaskingEngine, tmp_path: Path) -> None:
    src, dst = tmp_path / "people.jsonl", tmp_path / "people_out.jsonl"
    rows = people(7)
    rows[0]["年龄"] = 37
    src.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    # researcher has no rule for DATE_OF_BIRTH: default mask → birth year, so classes get small
    with pytest.raises(KAnonymityError) as err:
        mask_file(engine, src, dst, Caller("u1", "researcher"))
    assert err.value.report["k"] < 5 and not dst.exists() and not (tmp_path / "people_out.jsonl.partial").exists()
    report = mask_file(engine, src, dst, Caller("u1", "researcher"), force=True)
    assert report["forced"] and report["written"]
    out = [json.loads(x) for x in dst.read_text(encoding="utf-8").splitlines()]
    assert out[0]["年龄"] == 37 and out[0]["出生日期"] == "1980"  # JSON types kept


def test_bad_input_names_file_and_line(engine: MaskingEngine, tmp_path: Path) -> None:
    src = tmp_path / "people.jsonl"
    src.write_text('{"姓名": "张三"}\n[1, 2]\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"people.jsonl:2: each line must be a JSON object"):
        mask_file(engine, src, tmp_path / "o.jsonl", Caller("u1", "analyst"))
    bad = tmp_path / "people.csv"
    bad.write_text("a,b\n1,2\n3\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"people.csv:3: 1 columns where the header has 2"):
        mask_file(engine, bad, tmp_path / "o.csv", Caller("u1", "analyst"))
    with pytest.raises(InputError, match="unsupported file type"):
        mask_file(engine, tmp_path / "x.parquet", tmp_path / "o.parquet", Caller("u1", "analyst"))
    assert not (tmp_path / "o.jsonl").exists()
