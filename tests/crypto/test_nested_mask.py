"""Masking nested records and free text: per-path decisions, shape kept, JSON in strings stays JSON,
spans masked in place with counts (never values), globs in policy fields, fallbacks, files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from bench.classify.textcorpus import Corpus
from classifier.settings import REPO_ROOT, Settings, get_settings
from crypto.engine import Caller, MaskingEngine
from crypto.paths import field_matches
from crypto.static import mask_file

ANALYST = Caller("u1", "analyst")
TICKET = "市民张三来电反映北京市朝阳区建国路88号小区噪音，联系电话13812345678"
RECORD = {"case_no": "BJ2024000001",
          "applicant": {"name": "张三", "id_no": "11010519491231002X", "mobile": "13812345678"},
          "materials": [{"name": "身份证复印件", "number": "11010519491231002X"}, {"name": "户口簿", "number": "C12345678"}],
          "payload": json.dumps({"contact": {"tel": "13912345678"}}, separators=(",", ":")),
          "remark": "身份证号11010519491231002X 于2024年办理"}


def shape(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(v) for v in value]
    return type(value).__name__


@pytest.fixture()
def engine(settings: Settings, master_key: bytes) -> MaskingEngine:
    return MaskingEngine.from_settings(settings)


def test_nested_record_masked_per_path_shape_kept(engine: MaskingEngine) -> None:
    res = engine.mask("banjian", ANALYST, [RECORD])
    out = res.records[0]
    assert shape(out) == shape(RECORD)
    assert out["applicant"] == {"name": "张*", "id_no": "110105********002X", "mobile": "138****5678"}
    assert out["materials"][0]["number"] == "110105********002X"
    assert json.loads(out["payload"]) == {"contact": {"tel": "139****5678"}}  # still a JSON string
    assert out["remark"] == "身份证号110105********002X 于2024年办理"
    assert res.decisions["applicant.id_no"]["strategy"] == "mask_middle"
    assert res.decisions["remark"]["strategy"] == "mask_spans"
    assert res.decisions["remark"]["spans"] == {"CN_RESIDENT_ID": 1}
    assert "11010519491231002X" not in json.dumps(res.to_dict(), ensure_ascii=False)


def test_free_text_span_decisions_follow_the_role(engine: MaskingEngine) -> None:
    rows = [{"诉求内容": TICKET}, {"诉求内容": "青政办函〔2023〕24号 已转12345热线，金额12345678.00元"}]
    analyst = engine.mask("tickets", ANALYST, rows)
    assert analyst.records[0]["诉求内容"] == "市民张*来电反映北京市朝阳区****小区噪音，联系电话138****5678"
    assert analyst.records[1] == rows[1]  # look-alikes kept
    assert analyst.decisions["诉求内容"]["spans"] == {"PERSON_NAME": 1, "ADDRESS": 1, "CN_MOBILE": 1}
    officer = engine.mask("tickets", Caller("u2", "case_officer"), rows)
    # the case officer's rule keeps names and mobiles in clear, inside text too; addresses masked
    assert officer.records[0]["诉求内容"] == "市民张三来电反映北京市朝阳区****小区噪音，联系电话13812345678"


def test_unknown_dataset_never_released_in_clear(engine: MaskingEngine) -> None:
    corpus = Corpus(seed=3)
    rows, secrets = zip(*(corpus.banjian(i) for i in range(30)))
    out = json.dumps(engine.mask("never_scanned", ANALYST, list(rows)).records, ensure_ascii=False)
    assert not [v for s in secrets for vs in s.values() for v in vs if v in out]


def test_unparseable_and_binary_values_fall_back(engine: MaskingEngine) -> None:
    rows = [{"payload": "{\"tel\": \"13812345678\"", "blob": "ab\x00\x01cd"},
            {"payload": "[{\"id\": 1", "blob": "ok"}]
    res = engine.mask("broken", ANALYST, rows)
    assert "13812345678" not in json.dumps(res.records)
    assert res.records[1]["payload"] == "*********" and res.records[0]["blob"] == "******"
    assert set(res.fallbacks) >= {"payload", "blob"}


def test_policy_fields_accept_paths_and_globs(tmp_path: Path, settings: Settings, master_key: bytes,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    assert field_matches("applicant.id_no", ["applicant.*"])
    assert field_matches("applicant.id_no", ["applicant"])
    assert field_matches("materials[].number", ["materials[].number"])
    assert not field_matches("applicant_x", ["applicant"])
    policies = tmp_path / "policies"
    shutil.copytree(REPO_ROOT / "policies", policies, ignore=shutil.ignore_patterns("sigma*"))
    text = (policies / "masking.yaml").read_text(encoding="utf-8")
    text = text.replace("rules:\n", "rules:\n  - id: applicant-redacted\n    match: {fields: ['applicant.*']}\n"
                        "    strategy: redact\n", 1)
    (policies / "masking.yaml").write_text(text, encoding="utf-8")
    monkeypatch.setenv("SHUWEI_POLICY_DIR", str(policies))
    get_settings.cache_clear()
    engine = MaskingEngine.from_settings(get_settings())
    out = engine.mask("banjian", ANALYST, [RECORD]).records[0]
    assert out["applicant"] == {"name": None, "id_no": None, "mobile": None}
    assert json.loads(out["payload"])["contact"]["tel"] == "139****5678"


@pytest.mark.parametrize("suffix", [".jsonl", ".json", ".csv"])
def test_mask_file_formats(tmp_path: Path, engine: MaskingEngine, suffix: str) -> None:
    src = tmp_path / f"in{suffix}"
    if suffix == ".jsonl":
        src.write_text(json.dumps(RECORD, ensure_ascii=False) + "\n", encoding="utf-8")
    elif suffix == ".json":
        src.write_text(json.dumps([RECORD, RECORD], ensure_ascii=False), encoding="utf-8")
    else:
        src.write_text(f"工单号,诉求内容\nGD1,{TICKET}\n", encoding="utf-8")
    dst = tmp_path / f"out{suffix}"
    report = mask_file(engine, src, dst, ANALYST)
    body = dst.read_text(encoding="utf-8")
    assert "13812345678" not in body and "11010519491231002X" not in body
    if suffix == ".json":
        records = json.loads(body)
        assert len(records) == 2 and shape(records[0]) == shape(RECORD)
    if suffix == ".csv":
        assert "联系电话138****5678" in body
        assert report["decisions"]["诉求内容"]["strategy"] in ("mask_spans", "keep")



def test_text_forms_remembered_only_for_repeatable_strategies() -> None:
    """A span's masked form is reused only where its strategy gives the same form every time:
    random forms (encrypt, random_replace) are drawn per span."""
    from itertools import count

    from classifier.text import TextScanner
    from crypto.policy import StrategySpec
    from crypto.strategies import STRATEGIES
    from crypto.textmask import TextMasker

    assert not StrategySpec("encrypt", STRATEGIES["encrypt"].Params(key_id="k")).repeatable
    assert StrategySpec("encrypt", STRATEGIES["encrypt"].Params(key_id="k", deterministic=True)).repeatable
    assert not STRATEGIES["random_replace"].repeatable and STRATEGIES["mask_name"].repeatable
    drawn = count()
    fresh = lambda span: f"<{next(drawn)}>"  # noqa: E731 - a new form on every call
    texts = ["市民张三来电，联系电话13812345678", "投诉人张三称联系电话13812345678"]
    masker = TextMasker(TextScanner(), {"PERSON_NAME": fresh, "CN_MOBILE": fresh}, repeatable=["PERSON_NAME"])
    masker.prepare(texts)
    counts: dict[str, int] = {}
    out = [masker.mask(t, counts) for t in texts]
    assert out == ["市民<0>来电，联系电话<1>", "投诉人<0>称联系电话<2>"]
    assert counts == {"PERSON_NAME": 2, "CN_MOBILE": 2}
