"""`shuwei demo` end to end: the first Quickstart command's main job."""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner

from soc.cli.main import app


def test_demo_runs_every_area(data_dir: Path) -> None:
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
    assert (data_dir / "catalog.db").is_file() and (data_dir / "demo-soc" / "soc.db").is_file()
