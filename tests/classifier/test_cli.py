"""`shuwei classify` and `shuwei demo` through the real CLI (Typer's runner)."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from soc.cli import demo
from soc.cli.main import app

runner = CliRunner()


def _csv(tmp_path):
    path = tmp_path / "pop_basic.csv"
    path.write_text("公民身份号码,备注\n11010519491231002X,a\n11010519491231002X,b\n", encoding="utf-8")
    return path


def test_scan_json_is_exactly_the_contract(tmp_path, data_dir):
    result = runner.invoke(app, ["classify", "scan", str(_csv(tmp_path)), "--format", "json"])
    assert result.exit_code == 0, result.output
    (obj,) = json.loads(result.stdout)
    assert list(obj) == ["dataset", "source", "grade", "important_data_candidate", "rows_scanned",
                         "rows_total", "columns"]
    col = obj["columns"][0]
    assert list(col) == ["name", "entity", "category", "grade", "confidence", "hit_ratio", "evidence", "reasons"]
    assert (obj["dataset"], obj["grade"], obj["rows_total"]) == ("pop_basic", "L4", 2)
    assert (col["entity"], col["category"], col["grade"]) == ("CN_RESIDENT_ID", "个人身份信息", "L4")
    assert col["evidence"] == ["1101**********002X"]
    assert "11010519491231002X" not in result.stdout
    assert col["reasons"][:2] == ["value pattern+checksum", "column name"]


def test_review_show_drift_commands(tmp_path, data_dir):
    path = _csv(tmp_path)
    runner.invoke(app, ["classify", "scan", str(path)])
    r = runner.invoke(app, ["classify", "review", "pop_basic", "备注", "--entity", "null", "--grade", "L2",
                            "--reviewer", "张工", "--comment", "内部编码"])
    assert r.exit_code == 0, r.output
    shown = json.loads(runner.invoke(app, ["classify", "show", "pop_basic", "-f", "json"]).stdout)
    note = next(c for c in shown["columns"] if c["name"] == "备注")
    assert (note["grade"], note["reviewed"], note["review"]["reviewer"]) == ("L2", True, "张工")
    assert runner.invoke(app, ["classify", "drift"]).exit_code == 0
    listed = json.loads(runner.invoke(app, ["classify", "list", "-f", "json"]).stdout)
    assert [d["dataset"] for d in listed] == ["pop_basic"]
    bad = runner.invoke(app, ["classify", "review", "pop_basic", "备注", "--grade", "L9",
                              "--reviewer", "a", "--comment", "b"])
    assert bad.exit_code == 2 and "unknown grade" in bad.output
    assert runner.invoke(app, ["classify", "show", "nope"]).exit_code == 2


def test_demo_classify_steps_print_graded_catalog(data_dir, settings, capsys):
    """Only the classifier's steps: later areas append their own (with their own tests)."""
    ctx = {"settings": settings}
    demo.step_samples(ctx)
    demo.step_classify(ctx)
    output = capsys.readouterr().out
    assert [o["grade"] for o in ctx["catalog"]] == ["L4", "L4", "L3", "L4", "L4", "L4"]
    for dataset in ("pop_basic", "medical_visits", "enterprise_registry", "vehicle_tracks", "travellers"):
        assert dataset in output
    assert "CN_RESIDENT_ID" in output and "GEO_COORDINATE" in output
    assert (data_dir / "catalog.db").is_file()
