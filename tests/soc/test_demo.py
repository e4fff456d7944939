"""`shuwei demo` end to end: the first Quickstart command's main job."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from classifier.settings import get_settings
from soc.cli.main import app


def test_demo_runs_every_area(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = CliRunner().invoke(app, ["demo"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "grade L4" in out                                   # classification catalog
    masked = out.split("released to role analyst:")[1].split("decisions:")[0]
    rows = [line.split() for line in masked.strip().splitlines()[2:]]
    assert len(rows) == 3
    assert all(re.fullmatch(r"[\u4e00-\u9fff]{1,2}\*+", r[0]) for r in rows)   # names: surname only
    assert all(re.fullmatch(r"\d{6}\*{8}[\dX]{4}", r[1]) for r in rows)       # IDs: region + last 4
    assert "scenarios detected 14/14" in out                   # SOC step found every injected attack
    assert "SM3 hash chain" in out and "intact" in out
    assert "graded-protection evidence" in out
    assert re.search(r"verdict traced: rel-[0-9a-f]{16} → 市医保局/auditor", out)  # the leaked sample named
    demo_dir = data_dir / "demo"                               # ONE data directory for every step
    assert (demo_dir / "catalog.db").is_file() and (demo_dir / "soc.db").is_file()
    assert not (data_dir / "catalog.db").exists()              # the user's own data dir is left alone
    assert f"data: {demo_dir}" in result.stderr

    # The printed follow-up commands work as printed and read the data the demo summarised.
    judged = re.search(r"evidence \(等保 2.0 / 密评\): (\d+) 测评项 — 符合 (\d+), 部分符合 (\d+), 不符合 (\d+), "
                       r"不适用 (\d+)", out)
    assert judged
    assert re.search(r"evidence pack .*pack\.zip: \d+ files, .*verify: ok, Ed25519 and SM2", out)
    hint = next(line for line in out.splitlines() if line.startswith("check: "))[len("check: "):]
    words = shlex.split(hint)
    start = words.index("shuwei")
    env = dict(w.split("=", 1) for w in words[:start])  # the demo's own master key too
    assert env["SHUWEI_DATA_DIR"] == str(demo_dir) and set(env) <= {"SHUWEI_DATA_DIR", "SHUWEI_MASTER_KEY_FILE"}
    assert words[start:start + 3] == ["shuwei", "evidence", "check"]
    assert words[start + 3] == "--from" and words[start + 5] == "--to"
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    check = CliRunner().invoke(app, [*words[start + 1:], "--format", "json"])
    s = json.loads(check.stdout)["summary"]
    assert (s["items"], s["符合"], s["部分符合"], s["不符合"], s["不适用"]) == tuple(map(int, judged.groups()))
    verify = next(line for line in out.splitlines() if line.startswith("verify: "))[len("verify: "):]
    assert shlex.split(verify)[-3:-1] == ["evidence", "verify"]
    result = CliRunner().invoke(app, ["evidence", "verify", shlex.split(verify)[-1]])
    assert result.exit_code == 0 and result.stdout.startswith("ok: "), result.output
    listing = CliRunner().invoke(app, ["classify", "list", "--format", "json"])
    assert {"pop_basic", "travellers", "housing_fund"} <= {d["dataset"] for d in json.loads(listing.stdout)}


def test_demo_refuses_to_delete_a_folder_it_did_not_create(data_dir: Path) -> None:
    (data_dir / "demo").mkdir(parents=True)
    (data_dir / "demo" / "mine.txt").write_text("precious", encoding="utf-8")
    result = CliRunner().invoke(app, ["demo"])
    assert result.exit_code == 2 and "was not created by `shuwei demo`" in result.stderr
    assert (data_dir / "demo" / "mine.txt").read_text(encoding="utf-8") == "precious"
