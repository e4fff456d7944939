"""Terminal habits: tables fit the terminal, times show in the configured zone."""

from __future__ import annotations

import io
import re
from collections import Counter
from pathlib import Path

import pytest
from rich.cells import cell_len

from soc.cli import common

ROWS = [{"id": f"alert-{i:016x}", "severity": "critical", "first_seen": "2026-03-02T09:20:00.000Z",
         "rule_title": "Data volume far above the user's own hourly baseline, 敏感数据 " * 2}
        for i in range(3)]
COLUMNS = ["id", "severity", "first_seen", "rule_title"]


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_piped_table_keeps_rows_whole_in_the_configured_zone(data_dir: Path, capsys: pytest.CaptureFixture[str],
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHUWEI_TIMEZONE", "Asia/Shanghai")
    common.get_settings.cache_clear()
    common.print_table(ROWS, COLUMNS)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 + len(ROWS)
    assert "2026-03-02 17:20:00+08:00" in lines[2] and lines[2].endswith("敏感数据")


@pytest.mark.parametrize("width", [60, 100, 160])
def test_tty_table_fits_the_terminal_and_loses_nothing(data_dir: Path, monkeypatch: pytest.MonkeyPatch,
                                                       width: int) -> None:
    tty = FakeTTY()
    monkeypatch.setattr(common.sys, "stdout", tty)
    monkeypatch.setenv("COLUMNS", str(width))
    common.print_table(ROWS, COLUMNS)
    lines = re.sub(r"\x1b\[[0-9;]*m", "", tty.getvalue()).splitlines()
    assert lines and max(cell_len(line) for line in lines) <= width
    shown = Counter("".join(line for i, line in enumerate(lines) if i != 1).replace(" ", ""))
    cells = [common.local_time(str(r[c])) for r in ROWS for c in COLUMNS] + COLUMNS
    assert shown == Counter("".join(cells).replace(" ", ""))   # folded maybe, never cut off


def test_progress_only_on_a_terminal_and_only_on_stderr(monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    from classifier import progress
    from soc.cli.progress import progress_bars

    with progress_bars():                        # captured stderr is no terminal: nothing installed
        assert progress._reporter is None
        progress.advance("scan x (rows)", 10)
    assert capsys.readouterr().err == ""
    tty = FakeTTY()
    monkeypatch.setattr(common.sys, "stderr", tty)
    with progress_bars():
        print("record on stdout")
        progress.advance("scan x (rows)", 1234)
    assert progress._reporter is None
    assert "scan x (rows)" in tty.getvalue() and "1,234" in tty.getvalue()
    assert capsys.readouterr().out == "record on stdout\n"
