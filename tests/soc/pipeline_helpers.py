"""Shared helpers of the SOC pipeline tests: contract events, a small rule pack, a graded catalog."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from classifier.settings import Settings, get_settings

RULE_BULK = """\
title: Bulk export (test)
id: 11111111-1111-4111-8111-111111111111
status: test
level: medium
tags:
  - attack.exfiltration
logsource:
  product: shuwei
detection:
  selection:
    action: export
    rows|gte: 1000
  condition: selection
"""

RULE_CANARY = """\
title: Canary touched (test)
id: 22222222-2222-4222-8222-222222222222
status: test
level: high
logsource:
  product: shuwei
detection:
  selection:
    dataset|startswith: canary_
  condition: selection
"""


def event(n: int = 1, **fields: Any) -> dict[str, Any]:
    """A valid contract event; ``n`` makes the id and the minute unique."""
    base: dict[str, Any] = {
        "ts": f"2026-03-02T10:{n % 60:02d}:00+08:00", "event_id": f"t-{n:06d}",
        "source": "exchange-gateway", "user": "u1", "action": "query", "result": "success",
    }
    base.update(fields)
    return {k: v for k, v in base.items() if v is not None}


def use_rules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *rules: str,
              playbooks: Path | None = None, **soc: str) -> Settings:
    """Settings whose Sigma pack is ``rules`` (a directory under tmp_path) and whose playbook
    directory is ``playbooks`` (none by default); extra ``soc`` options via the environment."""
    rule_dir = tmp_path / "rules"
    rule_dir.mkdir(exist_ok=True)
    for i, text in enumerate(rules):
        (rule_dir / f"rule_{i}.yml").write_text(text, encoding="utf-8")
    monkeypatch.setenv("SHUWEI_SOC__RULES", str(rule_dir))
    monkeypatch.setenv("SHUWEI_PLAYBOOK_DIR", str(playbooks or tmp_path / "no-playbooks"))
    for key, value in soc.items():
        monkeypatch.setenv(f"SHUWEI_SOC__{key.upper()}", value)
    get_settings.cache_clear()
    return get_settings()


def grade(settings: Settings, dataset: str, columns: dict[str, tuple[str | None, str, str | None]]) -> None:
    """Record a classification of ``dataset`` in the real catalog: column → (entity, grade, category)."""
    from classifier.catalog import Catalog

    cat = Catalog.open(settings)
    try:
        cat.record_scans([{
            "dataset": dataset, "source": f"{dataset}.csv", "rows_scanned": 10, "rows_total": 10,
            "grade": max(g for _, g, _ in columns.values()),
            "columns": [{"name": name, "entity": e, "grade": g, "category": c}
                        for name, (e, g, c) in columns.items()]}])
    finally:
        cat.close()


PEOPLE = {"姓名": ("PERSON_NAME", "L3", "个人基本资料"),
          "公民身份号码": ("CN_RESIDENT_ID", "L4", "个人身份信息"),
          "备注": (None, "L1", None)}


def traffic_catalog(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """catalog.db grading the generated traffic's datasets (enrichment's data levels), for a
    module-scoped fixture to make once and copy into each test's data dir."""
    from soc.traffic import seed_catalog

    data_dir = tmp_path_factory.mktemp("catalog")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SHUWEI_DATA_DIR", str(data_dir))
        get_settings.cache_clear()
        seed_catalog(get_settings(), rows=40)
    get_settings.cache_clear()
    return data_dir / "catalog.db"
