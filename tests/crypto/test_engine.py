"""Policy engine: the contract example, grants, default-deny, unknown roles and datasets,
fallbacks, record errors, audit — with grades from the real catalog or explicit FieldGrades."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from classifier.catalog import Catalog, FieldGrade
from classifier.settings import Settings
from crypto.engine import Caller, MaskingEngine
from crypto.errors import RecordError

POP = [("姓名", "PERSON_NAME", "L3", "个人基本资料"), ("公民身份号码", "CN_RESIDENT_ID", "L4", "个人身份信息"),
       ("联系电话", "CN_MOBILE", "L3", "个人联系信息"), ("出生日期", "DATE_OF_BIRTH", "L3", "个人基本资料"),
       ("年龄", None, "L1", None)]


def seed_catalog(settings: Settings, dataset: str = "pop_basic") -> None:
    """Through the classifier's public API: a recorded scan, as `shuwei classify scan` leaves it."""
    cat = Catalog.open(settings)
    cat.record_scans([{"dataset": dataset, "source": f"{dataset}.csv", "grade": "L4", "rows_total": 3,
                       "columns": [{"name": n, "entity": e, "grade": g, "category": c, "confidence": 1.0,
                                    "hit_ratio": 1.0, "evidence": [], "reasons": []} for n, e, g, c in POP]}])
    cat.close()


@pytest.fixture()
def engine(settings: Settings, master_key: bytes) -> MaskingEngine:
    seed_catalog(settings)
    return MaskingEngine.from_settings(settings)


SPEC_RECORD = {"姓名": "张三", "公民身份号码": "110105194912310021", "联系电话": "13812345678"}


def test_contract_example(engine: MaskingEngine, outbox: Path) -> None:
    caller = Caller("u1024", "analyst", "市卫健委", "疫苗接种统计", "AP-2026-0012")
    res = engine.mask("pop_basic", caller, [SPEC_RECORD])
    assert res.records == [{"姓名": "张*", "公民身份号码": "110105********0021", "联系电话": "138****5678"}]
    assert res.decisions["姓名"]["strategy"] == "mask_name"
    assert res.decisions["姓名"]["reason"].startswith("L3 PERSON_NAME, role analyst")
    assert "approval AP-2026-0012 unknown" in res.decisions["联系电话"]["reason"]
    assert res.fallbacks == []
    events = [json.loads(x) for x in outbox.read_text(encoding="utf-8").splitlines()]
    masks = [e for e in events if e["action"] == "mask"]
    assert len(masks) == 1
    ev = masks[0]
    assert (ev["user"], ev["role"], ev["dataset"], ev["rows"]) == ("u1024", "analyst", "pop_basic", 1)
    assert ev["fields"] == list(SPEC_RECORD) and ev["approval_id"] == "AP-2026-0012"
    assert "13812345678" not in outbox.read_text(encoding="utf-8")


def test_rule_grants_clear_to_known_role_only(engine: MaskingEngine) -> None:
    rec = {"姓名": "张三", "联系电话": "13812345678"}
    ok = engine.mask("pop_basic", Caller("u1", "case_officer"), [rec])
    assert ok.records == [rec]
    assert ok.decisions["联系电话"] == {"strategy": "keep", "reason": "L3 CN_MOBILE, role case_officer, rule case-officer-contact"}
    unknown = engine.mask("pop_basic", Caller("u1", "case-officer"), [rec])
    assert unknown.records == [{"姓名": "张*", "联系电话": "138****5678"}]
    assert "unknown role 'case-officer' gets no grant" in unknown.decisions["姓名"]["reason"]


def test_approval_grants_listed_fields_when_valid(engine: MaskingEngine) -> None:
    rec = {"出生日期": "1987-06-15", "姓名": "欧阳娜娜", "年龄": 37}
    granted = engine.mask("pop_basic", Caller("r1", "researcher", purpose="出生缺陷研究", approval_id="AP-2026-0099"), [rec])
    assert granted.records == [{"出生日期": "1987-06-15", "姓名": "欧阳**", "年龄": 37}]
    assert "approval AP-2026-0099 grants it in clear" in granted.decisions["出生日期"]["reason"]
    assert granted.decisions["年龄"] == {"strategy": "keep", "reason": "L1, below L3"}
    wrong_purpose = engine.mask("pop_basic", Caller("r1", "researcher", purpose="other", approval_id="AP-2026-0099"), [rec])
    assert wrong_purpose.records[0]["出生日期"] == "1987"
    assert "not issued for this purpose" in wrong_purpose.decisions["出生日期"]["reason"]
    other_ds = engine.mask("elsewhere", Caller("r1", "researcher", purpose="出生缺陷研究", approval_id="AP-2026-0099"),
                           [rec], grades={k: FieldGrade("DATE_OF_BIRTH", "L3", None, True) for k in rec})
    assert other_ds.records[0]["出生日期"] == "1987"


def test_fallbacks_are_reported_and_never_raw(engine: MaskingEngine) -> None:
    recs = [{"联系电话": "12345678", "姓名": "张", "公民身份号码": None},
            {"联系电话": "13812345678", "姓名": 42, "公民身份号码": ""}]
    res = engine.mask("pop_basic", Caller("u1", "analyst"), recs)
    assert res.records[0] == {"联系电话": "********", "姓名": "*", "公民身份号码": None}
    assert res.records[1] == {"联系电话": "138****5678", "姓名": None, "公民身份号码": None}
    assert res.fallbacks == ["联系电话", "姓名", "公民身份号码"]


def test_unknown_dataset_is_classified_on_the_fly(engine: MaskingEngine, settings: Settings) -> None:
    recs = [{"name": n, "mobile": m, "note": "ok"} for n, m in
            [("张伟", "13912345678"), ("王芳", "13722223333"), ("李娜", "15011112222"), ("刘洋", "18633334444")]]
    res = engine.mask("never_scanned", Caller("u1", "analyst"), recs)
    assert res.decisions["mobile"]["strategy"] == "mask_middle"
    assert all(r["mobile"].count("*") == 4 for r in res.records)
    assert res.records[0]["note"] == "ok"
    assert Catalog.open(settings).field_grades("never_scanned") is None  # no catalog write


def test_spec_example_on_an_unknown_dataset_is_masked(engine: MaskingEngine) -> None:
    """Classified on the fly from one record: the header names the ID even though its check char fails."""
    res = engine.mask("pop_unscanned", Caller("u1024", "analyst"), [SPEC_RECORD])
    assert res.records == [{"姓名": "张*", "公民身份号码": "110105********0021", "联系电话": "138****5678"}]


def test_record_errors(engine: MaskingEngine) -> None:
    with pytest.raises(RecordError) as err:
        engine.mask("pop_basic", Caller("u1", "analyst"), [{"a": 1}, ["not", "an", "object"]])
    assert err.value.index == 1 and "JSON object" in str(err.value)


ROLES = ["analyst", "case_officer", "auditor", "researcher", "developer", "public", "nobody", ""]
SENSITIVE = {"a": FieldGrade("PERSON_NAME", "L3", None, False), "b": FieldGrade("CN_MOBILE", "L3", None, False),
             "c": FieldGrade("CN_RESIDENT_ID", "L4", None, False), "d": FieldGrade(None, "L4", None, True),
             "e": FieldGrade("ADDRESS", "L3", None, False), "f": FieldGrade("MEDICAL_DIAGNOSIS", "L4", None, False),
             "g": FieldGrade("DATE_OF_BIRTH", "L3", None, False), "h": FieldGrade(None, "L3", None, True)}
values = st.one_of(st.none(), st.integers(), st.floats(allow_nan=False), st.booleans(),
                   st.text(alphabet=st.characters(blacklist_characters="*"), max_size=40),
                   st.sampled_from(["13812345678", "110105194912310021", "张三", "欧阳娜娜", "1987-06-15",
                                    "北京市东城区景山前街4号", "zhang@gov.cn", "１３８１２３４５６７８"]))
records = st.lists(st.dictionaries(st.sampled_from(sorted(SENSITIVE)), values, max_size=8), max_size=8)


@hsettings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(recs=records, role=st.sampled_from(ROLES), purpose=st.sampled_from([None, "出生缺陷研究", "x"]),
       approval=st.sampled_from([None, "AP-2026-0099", "AP-bogus"]))
def test_no_l3_value_leaves_in_clear_without_a_grant(engine: MaskingEngine, recs, role, purpose, approval) -> None:
    res = engine.mask("pop_basic", Caller("p", role, purpose=purpose, approval_id=approval), recs,
                      grades=SENSITIVE, emit_audit=False)
    assert len(res.records) == len(recs)
    for raw, out in zip(recs, res.records):
        assert set(out) == set(raw)
        for field, value in raw.items():
            decision = res.decisions[field]
            if decision["strategy"] == "keep":
                assert role in engine.policy.roles and ("rule" in decision["reason"] or "approval" in decision["reason"])
                continue
            if value is not None and value != "":
                assert out[field] != value, (field, decision)
