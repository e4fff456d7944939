"""`shuwei soc alerts` with the API's filters, and `shuwei soc alert ID` with its events, masked."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from soc.cli.main import app

MOBILE, RESIDENT_ID, MAIL = "13812345678", "11010519491231002X", "zhang.san@gmail.com"


def _run(*args: str) -> tuple[int, str, str]:
    res = CliRunner().invoke(app, list(args))
    return res.exit_code, res.stdout, res.stderr


def _event(i: int, user: str, dataset: str, hour: int, **extra: object) -> dict[str, object]:
    return {"ts": f"2026-03-02T{hour:02d}:00:0{i}+08:00", "event_id": f"e{i}", "source": "gw", "user": user,
            "action": "export", "result": "success", "dataset": dataset, "rows": 10, "dest": MAIL, **extra}


def test_filters_and_masked_events(data_dir: Path, tmp_path: Path) -> None:
    events = tmp_path / "e.jsonl"
    events.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in [
        _event(1, "u1", "pop_basic", 10, extra={"note": f"联系 {MOBILE}", "id": RESIDENT_ID, "phone": MOBILE}),
        _event(2, "u2", "housing_fund", 15)]), encoding="utf-8")
    assert _run("soc", "ingest", str(events))[0] == 0

    def ids(*args: str) -> set[str]:
        code, out, err = _run("soc", "alerts", "--format", "json", *args)
        assert code == 0, err
        return {a["id"] for a in json.loads(out)}

    everything = ids()
    assert len(everything) >= 2
    by_u1 = ids("--user", "u1")
    assert by_u1 and by_u1 == ids("--dataset", "pop_basic") and by_u1.isdisjoint(ids("--user", "u2"))
    assert ids("--since", "2026-03-02T12:00") == ids("--user", "u2")   # no offset: the configured zone
    assert ids("--since", "2026-03-02T12:00+00:00") == set()
    assert ids("--severity", "medium") <= everything
    code, _, err = _run("soc", "alerts", "--severity", "urgent")
    assert code == 2 and "--severity" in err and "Traceback" not in err

    alert_id = next(iter(by_u1))
    code, out, _ = _run("soc", "alert", alert_id, "--format", "json")
    shown = json.loads(out)
    assert [e["event_id"] for e in shown["events"]] == ["e1"]
    ev = shown["events"][0]
    assert ev["extra"]["phone"] == "138****5678" and ev["extra"]["id"] == "110105********002X"
    assert ev["extra"]["note"] == "联系 138****5678" and ev["dest"] == "z*******@gmail.com"
    assert ev["user"] == "u1" and ev["dataset"] == "pop_basic"
    code, table, _ = _run("soc", "alert", alert_id)
    assert code == 0 and "events (1, sensitive values masked)" in table
    for raw in (MOBILE, RESIDENT_ID, MAIL):
        assert raw not in table and raw not in out
