"""Watermarks, canaries and leak tracing: each requirement of issue 12, on real exports.

Ten static exports of one 2,000-row dataset to ten recipients (real masking engine, keyring,
share.db); leaks are random 50-row samples, reordered, with half the columns dropped, converted
CSV → JSON Lines or xlsx the way a spreadsheet or pandas would (numbers as numbers, dates as dates).
"""

from __future__ import annotations

import copy
import csv
import json
import os
import random
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from faker import Faker
from openpyxl import Workbook

from classifier.catalog import Catalog
from classifier.settings import Settings, get_settings
from crypto.engine import Caller, MaskingEngine
from crypto.policy import MaskingPolicy
from crypto.share import canaries
from crypto.share.trace import THRESHOLD, Ledger, keyring_material, read_leak, trace
from crypto.static import mask_file

COLUMNS = [("姓名", "PERSON_NAME", "L3"), ("公民身份号码", "CN_RESIDENT_ID", "L4"), ("手机号码", "CN_MOBILE", "L3"),
           ("性别", None, "L1"), ("登记流水号", None, "L1"), ("登记日期", None, "L1"), ("fee", None, "L1"),
           ("经度", "GEO_COORDINATE", "L4"), ("纬度", "GEO_COORDINATE", "L4")]
MARKED = ("登记日期", "fee", "经度", "纬度")
ROWS = 2000


def rows(n: int, seed: int) -> list[dict[str, Any]]:
    fake, rng = Faker("zh_CN"), random.Random(seed)
    fake.seed_instance(seed)
    return [{"姓名": fake.name(), "公民身份号码": fake.ssn(), "手机号码": fake.phone_number(), "性别": rng.choice("男女"),
             "登记流水号": str(20240000001 + i), "登记日期": (date(2020, 1, 1) + timedelta(rng.randrange(1800))).isoformat(),
             "fee": f"{rng.uniform(20, 5000):.2f}", "经度": f"{rng.uniform(115.5, 117.5):.6f}",
             "纬度": f"{rng.uniform(39.5, 41):.6f}"} for i in range(n)]


def write_csv(path: Path, data: list[dict[str, Any]]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(data[0]))
        w.writeheader()
        w.writerows(data)


class Exports:
    def __init__(self, settings: Settings, engine: MaskingEngine, source: Path) -> None:
        self.settings, self.engine, self.source = settings, engine, source
        self.releases: list[tuple[str, Path, dict[str, Any]]] = []

    def ledger(self) -> Ledger:
        return Ledger.load(self.settings.data_dir, keyring_material(self.engine.keys.keyring))


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Exports]:
    root = tmp_path_factory.mktemp("watermark")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SHUWEI_DATA_DIR", str(root / "var"))
        mp.setenv("SHUWEI_MASTER_KEY", os.urandom(32).hex())
        mp.delenv("SHUWEI_CONFIG", raising=False)
        mp.delenv("SHUWEI_MASTER_KEY_FILE", raising=False)
        get_settings.cache_clear()
        settings = get_settings()
        Catalog.open(settings).record_scans([{"dataset": "people", "source": "x", "columns": [
            {"name": n, "entity": e, "grade": g, "category": None} for n, e, g in COLUMNS]}])
        engine = MaskingEngine.from_settings(settings)
        source = root / "people.csv"
        write_csv(source, rows(ROWS, 1))
        ex = Exports(settings, engine, source)
        for k in range(10):  # analysts and auditors (per-org hash pseudonyms) of ten organisations
            dst = root / f"people_{k}.csv"
            caller = Caller(f"user{k}", "auditor" if k % 2 else "analyst", org=f"委办局{k}", purpose="统计")
            report = mask_file(engine, source, dst, caller, force=True)
            ex.releases.append((report["release_id"], dst, report))
        yield ex
    get_settings.cache_clear()


def leak(path: Path, rng: random.Random, out: Path, fmt: str) -> Path:
    """50 random rows, reordered, half the columns dropped (two marked ones kept), converted."""
    released = list(csv.DictReader(open(path, encoding="utf-8", newline="")))
    sample = rng.sample(released, 50)
    rng.shuffle(sample)
    keep = rng.sample(MARKED, 2) + rng.sample([c for c, _, _ in COLUMNS if c not in MARKED], 2)
    rng.shuffle(keep)
    if fmt == "jsonl":  # as pandas writes it: numbers become numbers
        out.write_text("".join(json.dumps({c: (float(r[c]) if c == "fee" else r[c]) for c in keep},
                                          ensure_ascii=False) + "\n" for r in sample), encoding="utf-8")
        return out
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(keep)
    for r in sample:  # as Excel reads a CSV: amounts and coordinates as numbers, dates as dates
        sheet.append([date.fromisoformat(r[c]) if c == "登记日期" else
                      float(r[c]) if c in ("fee", "经度", "纬度") else r[c] for c in keep])
    book.save(out)
    return out


def test_a_50_row_leak_names_its_release_among_ten_never_another(exports: Exports, tmp_path: Path) -> None:
    rng = random.Random(12)
    ledger = exports.ledger()
    for k, (release_id, path, _) in enumerate(exports.releases):
        for n, fmt in enumerate(("jsonl", "xlsx", "jsonl")):
            result = trace(read_leak(leak(path, rng, tmp_path / f"leak{k}_{n}.{fmt}", fmt)), ledger)
            best, *others = result["candidates"]
            assert result["verdict"] == "traced" and result["rows_examined"] == 50
            assert best["release_id"] == release_id and best["p_value"] <= THRESHOLD, (k, fmt, best)
            assert best["caller"]["org"] == f"委办局{k}"
            assert all(c["p_value"] > THRESHOLD for c in others), others


def test_samples_from_no_release_are_never_traced(exports: Exports) -> None:
    """1,000 samples of fresh synthetic data in the released schema (pseudonyms included)."""
    rng = random.Random(99)
    ledger = exports.ledger()
    worst = 1.0
    for _ in range(1000):
        sample = [{"登记日期": (date(2020, 1, 1) + timedelta(rng.randrange(1800))).isoformat(),
                   "fee": f"{rng.uniform(20, 5000):.2f}", "经度": f"{rng.uniform(115.5, 117.5):.2f}",
                   "公民身份号码": rng.randbytes(32).hex(), "性别": rng.choice("男女")} for _ in range(50)]
        result = trace(sample, ledger)
        assert result["verdict"] == "inconclusive" and result["releases_tested"] == 10
        worst = min(worst, result["candidates"][0]["p_value"])
    assert worst > THRESHOLD


def test_watermarking_changes_only_the_values_the_policy_lets_it(exports: Exports, tmp_path: Path) -> None:
    """Masked and exact values stay as the strategies define them; marked values move ≤ 1 step;
    a coordinate a rule grants in clear is never marked; utility counts what moved."""
    engine, settings = exports.engine, exports.settings
    text = (Path(__file__).resolve().parents[2] / "policies" / "masking.yaml").read_text(encoding="utf-8")
    granted = tmp_path / "masking.yaml"
    granted.write_text(text.replace("rules:\n", "rules:\n  - id: researcher-coordinates\n"
                                    "    match: {roles: [researcher], fields: [经度]}\n    strategy: keep\n", 1),
                       encoding="utf-8")
    policy = MaskingPolicy.load(granted)
    plain = copy.copy(policy)
    plain.watermark = None
    marked, unmarked = MaskingEngine(policy, settings, engine.keys), MaskingEngine(plain, settings, engine.keys)
    records = list(csv.DictReader(open(exports.source, encoding="utf-8", newline="")))[:500]
    grades = engine.field_grades("people", records, list(records[0]))
    for caller in (Caller("u1", "analyst", org="甲"), Caller("u2", "auditor", org="乙"),
                   Caller("u3", "case_officer", org="丙"), Caller("u4", "researcher", org="丁")):
        got = marked.mask("people", caller, records, grades=grades, emit_audit=False)
        base = unmarked.mask("people", caller, records, grades=grades, emit_audit=False)
        assert got.decisions == base.decisions and got.fallbacks == base.fallbacks
        utility = got.watermark["utility"] if got.watermark else {}
        for name in records[0]:
            a, b = [r[name] for r in got.records], [r[name] for r in base.records]
            if name in utility:
                step = 1 if name == "登记日期" else 0.01
                moved = [(x, y) for x, y in zip(a, b) if x != y]
                assert len(moved) == utility[name]["changed"] and utility[name]["marked"] == len(records)
                assert 0.35 * len(records) < len(moved) < 0.65 * len(records)  # half the values keep their bit
                for x, y in moved:
                    delta = ((date.fromisoformat(x) - date.fromisoformat(y)).days if name == "登记日期"
                             else round((float(x) - float(y)) / step))
                    assert abs(delta) == 1
            elif got.decisions[name]["strategy"] == "hash":  # per-org pseudonyms: same shape, other key
                assert caller.org == "乙" and all(len(x) == 64 and int(x, 16) >= 0 for x in a) and a != b
                assert len(set(a)) == len(set(b))  # still one pseudonym per person
            else:
                assert a == b, (caller.role, name)  # masked or kept exact: untouched
        assert ("经度" in utility) is (caller.role != "researcher")


def test_canaries_hide_in_static_exports_and_name_their_release(exports: Exports, tmp_path: Path) -> None:
    release_id, path, report = exports.releases[1]  # an auditor: pseudonyms and serials are distinctive
    assert report["rows"] == ROWS and report["watermark"]["canaries"] == 3
    out = list(csv.DictReader(open(path, encoding="utf-8", newline="")))
    assert len(out) == ROWS + 3
    watched = {v: rid for v, (rid, _) in canaries.load(exports.settings.data_dir).items() if rid == release_id}
    hidden = [r for r in out if any(v in watched for v in r.values())]
    assert len(hidden) == 3 and watched
    real = {r["登记流水号"] for r in rows(ROWS, 1)}
    assert all(r["登记流水号"] not in real for r in hidden)  # synthetic people, not copies of real ones
    sample = random.Random(3).sample(out, 20) + hidden[:1]
    result = trace([{"登记流水号": r["登记流水号"], "fee": r["fee"]} for r in sample], exports.ledger())
    assert result["candidates"][0]["release_id"] == release_id
    assert any(e.startswith("canary row") for e in result["candidates"][0]["evidence"])


def test_the_ledger_records_parameters_never_values(exports: Exports) -> None:
    ledger = exports.ledger()
    rel = next(r for r in ledger.releases if r.release_id == exports.releases[1][0])
    wm = rel.watermark
    assert wm is not None and wm["method"] == "shuwei-wm/1" and wm["key_id"] == "watermark" and wm["version"] == 1
    assert wm["values"] == {"登记日期": {"kind": "date"}, "fee": {"kind": "number", "step": 0.01},
                            "经度": {"kind": "number", "step": 0.01}, "纬度": {"kind": "number", "step": 0.01}}
    assert wm["pseudonyms"] == {"公民身份号码": {"per_org": True, "tag_hex": 4}}
    stored = json.dumps(rel.to_dict(), ensure_ascii=False)
    first = next(csv.DictReader(open(exports.releases[1][1], encoding="utf-8", newline="")))
    assert not any(v in stored for v in first.values() if len(v) > 3)


def test_values_of_other_forms_in_a_leak_are_skipped_not_fatal(exports: Exports) -> None:
    sample = [{"fee": "n/a", "登记日期": "二〇二四年", "经度": "116.40,abc"}, {"fee": True, "登记日期": None}]
    result = trace(sample, exports.ledger())
    assert result["verdict"] == "inconclusive" and result["rows_examined"] == 2
