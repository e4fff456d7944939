"""Nested paths, arrays, JSON in strings, free text with identifiers inside, decoys and limits —
classified from real files; identifiers made valid by python-stdnum and phonenumbers (the corpus)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from stdnum.cn import ric

from bench.classify.textcorpus import EXPECTED_BANJIAN, IDENTIFIERS, Corpus
from classifier.scan import scan_sources
from classifier.settings import Settings
from classifier.text import TextScanner, build_text_analyzer


def columns(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in report["columns"]}


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def corpus() -> Corpus:
    return Corpus(seed=7)


def test_nested_jsonl_paths_grades_and_parents(tmp_path: Path, settings: Settings, corpus: Corpus) -> None:
    records = [corpus.banjian(i)[0] for i in range(300)]
    report = scan_sources([str(write_jsonl(tmp_path / "banjian.jsonl", records))], settings)[0]
    cols = columns(report)
    assert {n: cols[n]["grade"] for n in EXPECTED_BANJIAN} == EXPECTED_BANJIAN
    assert cols["applicant.id_no"]["entity"] == "CN_RESIDENT_ID"
    assert cols["payload.contact.tel"]["entity"] == "CN_MOBILE"  # JSON carried in a string
    assert cols["applicant"]["reasons"] == ["nested: highest of 3 fields"]
    names = [c["name"] for c in report["columns"]]
    assert names.index("applicant") < names.index("applicant.name")  # the parent comes first
    assert report["grade"] == "L4"
    evidence = json.dumps(report, ensure_ascii=False)
    assert not any(r["applicant"]["id_no"] in evidence for r in records)  # evidence is masked


def test_json_array_file_and_parquet_struct_list(tmp_path: Path, settings: Settings, corpus: Corpus) -> None:
    records = [corpus.banjian(i)[0] for i in range(50)]
    array = tmp_path / "banjian_array.json"
    array.write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    table = pa.Table.from_pylist([{"case_no": r["case_no"], "applicant": r["applicant"],
                                   "materials": r["materials"]} for r in records])
    pq.write_table(table, tmp_path / "banjian_pq.parquet")
    a, p = scan_sources([str(array), str(tmp_path / "banjian_pq.parquet")], settings)
    for report in (a, p):
        cols = columns(report)
        assert cols["applicant.id_no"]["entity"] == "CN_RESIDENT_ID"
        assert cols["materials[].number"]["grade"] == "L4"
        assert cols["materials"]["grade"] == "L4"


def test_sql_json_text_column(tmp_path: Path, settings: Settings, corpus: Corpus) -> None:
    db = tmp_path / "exchange.db"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE jobs (id INTEGER, body TEXT)")
    con.executemany("INSERT INTO jobs VALUES (?, ?)",
                    [(i, json.dumps(corpus.banjian(i)[0], ensure_ascii=False)) for i in range(40)])
    con.commit()
    con.close()
    cols = columns(scan_sources([f"sqlite:///{db}"], settings)[0])
    assert cols["body.applicant.id_no"]["entity"] == "CN_RESIDENT_ID"
    assert cols["body.payload.contact.tel"]["entity"] == "CN_MOBILE"
    assert cols["body"]["grade"] == "L4"


def test_free_text_columns_embedded(tmp_path: Path, settings: Settings, corpus: Corpus) -> None:
    tickets = [corpus.ticket().text for _ in range(200)]
    decoys = [corpus.decoy() for _ in range(200)]
    one_id = ["材料齐全"] * 199 + [f"身份证号{corpus.resident_id()} 于2024年办理"]
    path = tmp_path / "tickets.csv"
    path.write_text("诉求内容,办理意见,备注\n" + "".join(f"{a},{b},{c}\n" for a, b, c in zip(tickets, decoys, one_id)),
                    encoding="utf-8")
    cols = columns(scan_sources([str(path)], settings, full=True)[0])
    text = cols["诉求内容"]
    assert text["entity"] is None and text["grade"] == "L4"  # one ticket in five quotes an ID
    embedded = {e["entity"]: e for e in text["embedded"]}
    assert embedded["CN_MOBILE"]["values"] == 200 and embedded["CN_MOBILE"]["share"] == 1.0
    assert {"PERSON_NAME", "ADDRESS"} <= set(embedded)
    # decoys: order numbers, 文号, 12345, amounts, dates, IDs with a wrong check char
    assert cols["办理意见"]["grade"] == "L1" and "embedded" not in cols["办理意见"]
    remark = cols["备注"]
    assert remark["grade"] == "L4"  # one ID in one remark is enough (embedded_min_values = 1)
    assert "embedded CN_RESIDENT_ID in 1 of 200 values" in remark["reasons"]


def test_embedded_min_values_is_configurable(tmp_path: Path, settings: Settings, corpus: Corpus) -> None:
    settings = Settings(data_dir=settings.data_dir, classify={"embedded_min_values": 2})
    path = tmp_path / "remarks.csv"
    path.write_text("备注\n" + "材料齐全\n" * 99 + f"身份证号{corpus.resident_id()}\n", encoding="utf-8")
    col = columns(scan_sources([str(path)], settings)[0])["备注"]
    assert col["grade"] == "L1"
    assert col["embedded"][0]["entity"] == "CN_RESIDENT_ID"
    assert any("below classify.embedded_min_values=2" in r for r in col["reasons"])


def test_depth_width_limits_and_unparseable_json_are_reported(tmp_path: Path, settings: Settings) -> None:
    settings = Settings(data_dir=settings.data_dir, classify={"max_depth": 2, "max_fields": 3})
    deep = {"a": {"b": {"c": {"tel": "13812345678"}}}, "w": {f"k{i}": "x" for i in range(6)},
            "bad": "{\"tel\": 13812345678"}
    cols = columns(scan_sources([str(write_jsonl(tmp_path / "deep.jsonl", [deep] * 20))], settings)[0])
    assert any("max_depth=2" in r for r in cols["a.b.c"]["reasons"])
    assert cols["a.b.c"]["grade"] == "L3"  # the subtree kept as JSON text is still searched
    assert any("max_fields=3" in r for r in cols["w"]["reasons"])
    assert any("do not parse" in r for r in cols["bad"]["reasons"])


def test_spans_validated_like_whole_values(corpus: Corpus) -> None:
    scanner = TextScanner()
    good = corpus.resident_id()
    bad = corpus.resident_id(valid=False)
    assert ric.is_valid(good) and not ric.is_valid(bad)
    text = f"身份证号{good}，另有编号{bad}，已转12345热线，青政办函〔2023〕24号，订单号2024010112345678。"
    found = [(s.entity, text[s.start:s.end]) for s in scanner.find(text)]
    assert found == [("CN_RESIDENT_ID", good)]


def test_labelled_corpus_recall(corpus: Corpus) -> None:
    texts = [corpus.ticket() for _ in range(300)] + [corpus.remark() for _ in range(300)]
    found = TextScanner().find_many([t.text for t in texts])
    gold = [(i, *label) for i, t in enumerate(texts) for label in t.labels]
    pred = {(i, s.entity, s.start, s.end) for i, spans in enumerate(found) for s in spans}
    ids = [g for g in gold if g[1] in IDENTIFIERS]
    assert all(g in pred for g in ids)  # every validated identifier found, exact span
    names = [g for g in gold if g[1] in ("PERSON_NAME", "ADDRESS")]
    assert sum(g in pred for g in names) / len(names) >= 0.97


def test_presidio_analyzer_interface_finds_the_same_spans() -> None:
    text = "市民张三来电反映北京市朝阳区建国路88号小区噪音，联系电话13812345678"
    results = build_text_analyzer().analyze(text, language="zh")
    assert sorted((r.entity_type, text[r.start:r.end]) for r in results) == [
        ("ADDRESS", "北京市朝阳区建国路88号"), ("CN_MOBILE", "13812345678"), ("PERSON_NAME", "张三")]


@pytest.mark.parametrize(("text", "names"), [
    ("市民来电反映噪音扰民", []),           # 来 is a surname; 来电 is the verb after the cue
    ("居民于是投诉到街道", []),
    ("户主方便时联系", []),
    ("市民张三来电反映噪音", ["张三"]),
    ("联系人李娜说已处理", ["李娜"]),
    ("联系人宁静称已处理", ["宁静"]),        # a dictionary word jieba tags as a name stays one
    ("联系人修建军 电话", ["修建军"]),      # after a role cue a name that reads as a verb (修建) is one
    ("申请人于是撤回申请", []),             # … but not a function word (于是)
    ("居民修建围墙", []),                   # after a group cue the verb is what they did
])
def test_words_after_a_name_cue_are_not_names(text: str, names: list[str]) -> None:
    found = [text[s.start:s.end] for s in TextScanner().find(text) if s.entity == "PERSON_NAME"]
    assert found == names
