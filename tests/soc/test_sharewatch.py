"""A traced leak and a touched canary become SOC alerts (soc/sharewatch.py), through the real
pipeline: the CLI's trace event reaches it through the outbox, playbooks act on the alert."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import pytest

from classifier import audit
from classifier.settings import Settings
from crypto.engine import Caller, MaskingEngine
from crypto.share import canaries
from soc.cli.trace import run_trace
from soc.ingest import IngestPipeline


@pytest.fixture()
def keyed(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("SHUWEI_MASTER_KEY", os.urandom(32).hex())
    monkeypatch.delenv("SHUWEI_MASTER_KEY_FILE", raising=False)
    return settings


def test_a_traced_leak_raises_a_high_alert_naming_release_and_recipient(keyed: Settings, tmp_path: Path) -> None:
    rng = random.Random(5)
    records = [{"登记日期": f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                "fee": f"{rng.uniform(10, 9000):.2f}"} for _ in range(300)]
    engine = MaskingEngine.from_settings(keyed)
    grades = engine.field_grades("fees", records, ["登记日期", "fee"])
    released = {org: engine.mask("fees", Caller("u-" + org, "analyst", org=org), records, grades=grades)
                for org in ("市卫健委", "市医保局")}
    leaked = rng.sample(released["市医保局"].records, 50)
    path = tmp_path / "found.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in leaked), encoding="utf-8")
    result = run_trace(path)
    assert result["verdict"] == "traced"
    assert result["candidates"][0]["release_id"] == released["市医保局"].release_id

    pipe = IngestPipeline.from_settings(keyed)
    try:
        alerts = pipe.ingest_outbox(keyed.data_dir).alerts
    finally:
        pipe.close()
    traced = [a for a in alerts if a["rule_title"] == "Leak traced to a release"]
    assert len(traced) == 1 and traced[0]["severity"] == "high"
    assert traced[0]["group"] == {"release_id": released["市医保局"].release_id, "user": "u-市医保局",
                                  "org": "市医保局"}


def test_an_inconclusive_trace_raises_nothing(keyed: Settings, tmp_path: Path) -> None:
    path = tmp_path / "unrelated.csv"
    path.write_text("fee,登记日期\n12.50,2024-01-02\n", encoding="utf-8")
    assert run_trace(path)["verdict"] == "inconclusive"
    pipe = IngestPipeline.from_settings(keyed)
    try:
        alerts = pipe.ingest_outbox(keyed.data_dir).alerts
    finally:
        pipe.close()
    assert not [a for a in alerts if a["rule_id"].startswith("shuwei.")]


def test_an_event_touching_a_canary_value_is_a_honeytoken_alert(keyed: Settings) -> None:
    canaries.store(keyed.data_dir, "rel-00000000000000aa", [("登记流水号", "20249917302")])
    pipe = IngestPipeline.from_settings(keyed)
    try:
        quiet = audit.make_event("query", user="u7", dataset="pop_basic", extra={"where": "登记流水号 = '20240000001'"})
        touch = audit.make_event("query", user="u7", dataset="pop_basic",
                                 extra={"where": "登记流水号 = '20249917302'"})
        assert not [a for a in pipe.ingest([quiet], origin="t").alerts if a["rule_id"] == "shuwei.honeytoken_canary"]
        alerts = [a for a in pipe.ingest([touch], origin="t").alerts if a["rule_id"] == "shuwei.honeytoken_canary"]
    finally:
        pipe.close()
    assert len(alerts) == 1 and alerts[0]["severity"] == "critical"
    assert alerts[0]["rule_title"].startswith("Honeytoken")  # the honeytoken playbook matches it
    assert alerts[0]["group"] == {"user": "u7", "release_id": "rel-00000000000000aa", "canary_field": "登记流水号"}
