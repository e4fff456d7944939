"""Bad input: a clear error naming the file and line (or table), exit 2, and nothing recorded."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from classifier.catalog import Catalog
from classifier.errors import InputError
from classifier.scan import scan_sources
from soc.cli.main import app


@pytest.fixture()
def good(tmp_path: Path) -> Path:
    path = tmp_path / "good.csv"
    path.write_text("name,phone\n张三,13812345678\n李四,13912345678\n", encoding="utf-8")
    return path


def _bad_files(tmp_path: Path) -> dict[str, tuple[Path | str, str]]:
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("a,b,c\n1,2,3\n4,5\n6,7,8\n", encoding="utf-8")
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    header = tmp_path / "header.csv"
    header.write_text("姓名,手机\n", encoding="utf-8")
    huge = tmp_path / "huge.csv"
    with open(huge, "w", encoding="utf-8") as fh:
        fh.write("id,note\n1,ok\n2,ok\n3," + "x" * (10 << 20) + "\n4,ok\n")
    mixed = tmp_path / "mixed.csv"
    mixed.write_bytes(("name,city\n" + "张三,杭州\n" * 100000).encode("utf-8") + "李四,北京\n".encode("gbk"))
    mixed_head = tmp_path / "mixed_head.csv"
    mixed_head.write_bytes(("name,city\n" + "张三,杭州\n" * 10).encode("utf-8") + "李四,北京\n".encode("gbk")
                           + ("张三,杭州\n" * 10).encode("utf-8"))
    badjson = tmp_path / "bad.jsonl"
    badjson.write_text('{"a": 1}\n{"a": 2\n', encoding="utf-8")
    binary = tmp_path / "binary.csv"
    binary.write_bytes(bytes(range(256)) * 64)
    return {
        "missing": (tmp_path / "nope.csv", "no such file"),
        "directory": (tmp_path, "not a regular file"),
        "ragged": (ragged, "ragged.csv:3: ragged row"),
        "empty": (empty, "empty file"),
        "header only": (header, "header only"),
        "10 MB cell": (huge, "huge.csv:4"),
        "wrong encoding": (mixed, "mixed.csv:100002"),
        "wrong encoding in head": (mixed_head, "mixed_head.csv:12"),
        "bad json": (badjson, "bad.jsonl:2: not valid JSON"),
        "binary": (binary, "binary.csv"),
        "sqlite missing": ("sqlite:///" + str(tmp_path / "none.db"), "no such SQLite database file"),
        "no table": (None, "no such table"),
        "postgres down": ("postgresql://shuwei:s3cret@127.0.0.1:1/x", "postgresql://shuwei:***@127.0.0.1:1/x"),
    }


@pytest.mark.parametrize("case", ["missing", "directory", "ragged", "empty", "header only", "10 MB cell",
                                  "wrong encoding", "wrong encoding in head", "bad json", "binary", "sqlite missing", "no table",
                                  "postgres down"])
def test_bad_input_is_named_and_nothing_is_recorded(tmp_path, settings, good, case):
    source, expected = _bad_files(tmp_path)[case]
    if case == "no table":
        db = tmp_path / "t.db"
        import sqlite3
        sqlite3.connect(db).execute("CREATE TABLE a (x TEXT)").connection.close()
        source = f"sqlite:///{db}#nope"
    with pytest.raises(InputError) as err:
        scan_sources([str(good), str(source)], settings)
    message = str(err.value)
    assert expected in message
    assert "s3cret" not in message and "xxxxxxxx" not in message
    catalog = Catalog.open(settings)
    assert catalog.list_datasets() == []  # good.csv was scanned but not recorded


def test_cli_exit_code_2_without_traceback(tmp_path, data_dir):
    ragged = tmp_path / "r.csv"
    ragged.write_text("a,b\n1,2\n3\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["classify", "scan", str(ragged)])
    assert result.exit_code == 2
    assert "r.csv:3" in result.output and "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)
