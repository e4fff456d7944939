"""Build one-rule packs from a detection mapping and run them on both hunt backends."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from soc.detection import RulePack, hunt

RULE_ID = "00000000-0000-4000-8000-000000000001"


def write_rule(tmp: Path, detection: dict[str, Any], name: str = "rule.yml", **extra: Any) -> Path:
    doc = {"title": "Test rule", "id": extra.pop("id", RULE_ID), "status": "test",
           "logsource": {"product": "shuwei"}, "detection": detection, "level": "high", **extra}
    path = tmp / name
    path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def matching_lines(tmp: Path, detection: dict[str, Any], events: list[dict[str, Any]],
                   placeholders: dict[str, list[str]] | None = None) -> list[int]:
    """1-based indices of matching events; asserts memory and sqlite agree."""
    pack = RulePack.load(write_rule(tmp, detection))
    assert pack.errors == [], pack.errors
    results = {b: [m.line for m in hunt(pack, events, backend=b, placeholders=placeholders)]
               for b in ("memory", "sqlite")}
    assert results["memory"] == results["sqlite"], results
    return results["memory"]
