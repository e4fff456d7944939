"""Scans only below the readable roots (no traversal, no symlink escape), listing, detail, review."""

from __future__ import annotations

import os

from tests.service.conftest import Live
from tests.service.test_basics import assert_error


def test_scan_refuses_paths_outside_roots(live: Live, demo_sources: None) -> None:
    outside = live.root / "outside.csv"
    outside.write_text("姓名\n张三\n", encoding="utf-8")
    link = live.root / "sources" / "escape.csv"
    if not link.exists():
        os.symlink(outside, link)
    with live.client("admin") as c:
        for source in ("../outside.csv", str(outside), "/etc/passwd", str(link), "escape.csv",
                       str(live.root / "sources" / ".." / "outside.csv")):
            err = assert_error(c.post("/v1/datasets/scans", json={"source": source}), 403)
            assert err["field"] == "source", source
        assert_error(c.post("/v1/datasets/scans", json={"source": "missing.csv"}), 404)
        assert_error(c.post("/v1/datasets/scans", json={"source": "sqlite:////etc/shadow.db"}), 403)
        assert_error(c.post("/v1/datasets/scans", json={"source": "pop_basic.csv", "bogus": 1}), 400)


def test_list_detail_review_drift(live: Live, demo_sources: None) -> None:
    with live.client("owner_pop") as c:
        listed = c.get("/v1/datasets").json()
        assert [d["dataset"] for d in listed] == ["pop_basic"]
        detail = c.get("/v1/datasets/pop_basic").json()
        columns = {col["name"]: col for col in detail["columns"]}
        assert columns["公民身份号码"]["entity"] == "CN_RESIDENT_ID"
        assert columns["公民身份号码"]["grade"] == "L4"
        assert "11010519491231002X" not in c.get("/v1/datasets/pop_basic").text  # evidence is masked
        r = c.post("/v1/datasets/pop_basic/review",
                   json={"column": "地址", "comment": "address of residence", "grade": "L4", "entity": "ADDRESS"})
        assert r.status_code == 200, r.text
        after = {col["name"]: col for col in c.get("/v1/datasets/pop_basic").json()["columns"]}
        assert after["地址"]["grade"] == "L4" and after["地址"]["reviewed"] is True
        assert_error(c.post("/v1/datasets/pop_basic/review", json={"column": "nope", "comment": "x", "accept": True}),
                     404)
        assert_error(c.post("/v1/datasets/pop_basic/review", json={"column": "地址", "comment": "x", "grade": "L9"}),
                     400)
        assert isinstance(c.get("/v1/datasets/drift").json(), list)
    with live.client("data_owner") as c:  # an owner of other datasets sees none of these
        assert c.get("/v1/datasets").json() == []
        assert_error(c.get("/v1/datasets/pop_basic"), 403)
    with live.client("admin") as c:
        assert_error(c.get("/v1/datasets/no_such_dataset"), 404)


def test_allow_listed_sql_source(live: Live) -> None:
    import sqlite3

    db_path = live.root / "sources" / "registry.db"
    with sqlite3.connect(db_path) as db:
        db.execute("CREATE TABLE IF NOT EXISTS org_registry (单位名称 TEXT, 统一社会信用代码 TEXT)")
        db.executemany("INSERT INTO org_registry VALUES (?, ?)",
                       [("北京市东城区卫生健康委员会", "91110000600037341L")] * 20)
    with live.client("admin") as c:
        r = c.post("/v1/datasets/scans", json={"source": f"sqlite:///{db_path}"})
        assert r.status_code == 200, r.text
        assert [d["dataset"] for d in r.json()] == ["org_registry"]
        assert_error(c.post("/v1/datasets/scans", json={"source": f"sqlite:///{db_path}?mode=ro"}), 403)
    with live.client("owner_pop") as c:  # the table is not among the owner's datasets
        assert_error(c.post("/v1/datasets/scans", json={"source": f"sqlite:///{db_path}"}), 403)
