"""Owners tune without code: allow-lists, per-dataset suppression, grade overrides, escalation,
the important-data rule — all from policy YAML, applied on the next scan."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import yaml
from faker import Faker

from classifier.errors import InputError
from classifier.scan import run_scan, scan_sources


def _edit(policy_dir: Path, **changes) -> None:
    path = policy_dir / "classification.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data.update(changes)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


def _people(path: Path, rows: int = 100, placeholder: bool = False) -> Path:
    fake = Faker("zh_CN")
    fake.seed_instance(9)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["name", "phone", "addr"])
        for i in range(rows):
            w.writerow([fake.name(), "13800138000" if placeholder or i % 2 else fake.phone_number(), fake.address()])
    return path


def _entities(result: dict) -> dict:
    return {c["name"]: (c["entity"], c["grade"]) for c in result["columns"]}


def test_escalation_raises_dataset_grade(tmp_path, settings):
    (result,) = scan_sources([str(_people(tmp_path / "p.csv"))], settings)
    assert {g for _, g in _entities(result).values()} == {"L3"}
    assert result["grade"] == "L4"  # PERSON_NAME + CN_MOBILE + ADDRESS: 汇聚效应


def test_allow_list_suppression_and_overrides(tmp_path, policy_dir, settings):
    path = _people(tmp_path / "p.csv", placeholder=True)
    (before,) = scan_sources([str(path)], settings)
    assert _entities(before)["phone"] == (None, "L1")  # 13800138000 is allow-listed by default
    _edit(policy_dir, allow_values={}, grade_overrides={"ADDRESS": "L4"},
          datasets={"p": {"suppress": ["PERSON_NAME"], "grade_overrides": {"CN_MOBILE": "L2"}}})
    (after,) = scan_sources([str(path)], settings)  # the policy changed: not skipped
    assert _entities(after) == {"name": (None, "L1"), "phone": ("CN_MOBILE", "L2"), "addr": ("ADDRESS", "L4")}
    assert any("suppressed" in r for r in after["columns"][0]["reasons"])


def test_important_data_candidate_rule(tmp_path, policy_dir, settings):
    _edit(policy_dir, important_data=[{"name": "test", "min_rows": 150, "min_grade": "L4"}])
    small, big = _people(tmp_path / "small.csv", rows=100), _people(tmp_path / "big.csv", rows=200)
    flags = [r["important_data_candidate"] for r in scan_sources([str(small), str(big)], settings)]
    assert flags == [False, True]


def test_bad_policy_is_named(tmp_path, policy_dir, settings):
    _edit(policy_dir, grade_overrides={"NOT_AN_ENTITY": "L2"})
    with pytest.raises(InputError, match="classification.yaml.*unknown entity id 'NOT_AN_ENTITY'"):
        run_scan([str(_people(tmp_path / "p.csv"))], settings)
