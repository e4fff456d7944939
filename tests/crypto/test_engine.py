"""Policy engine: the contract example, grants, default-deny, unknown roles and datasets,
fallbacks, record errors, audit — with grades from the real catalog or explicit FieldGrades."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from classifier.catalog import Catalog, FieldGrade
from classifier.settings import Settings, get_settings
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


# The tests' own share approvals (not the shipped ones, which expire) and a fixed clock.
APPROVALS = """\
approvals:
  - id: AP-T-0001
    description: birth-defect study, 出生日期 in clear for the research partner
    datasets: [pop_basic]
    roles: [researcher]
    purposes: [出生缺陷研究]
    fields: [出生日期]
    expires: 2030-06-30
  - id: AP-T-OPEN
    fields: [出生日期]
    roles: [researcher]
"""
TODAY = date(2030, 1, 15)


def make_engine(settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                today: date = TODAY) -> MaskingEngine:
    approvals = tmp_path / "approvals.yaml"
    approvals.write_text(APPROVALS, encoding="utf-8")
    monkeypatch.setenv("SHUWEI_CRYPTO__APPROVALS_FILE", str(approvals))
    get_settings.cache_clear()
    return MaskingEngine.from_settings(get_settings(), today=lambda: today)


@pytest.fixture()
def engine(settings: Settings, master_key: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> MaskingEngine:
    seed_catalog(settings)
    return make_engine(settings, tmp_path, monkeypatch)


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
    granted = engine.mask("pop_basic", Caller("r1", "researcher", purpose="出生缺陷研究", approval_id="AP-T-0001"), [rec])
    assert granted.records == [{"出生日期": "1987-06-15", "姓名": "欧阳**", "年龄": 37}]
    assert "approval AP-T-0001 grants it in clear" in granted.decisions["出生日期"]["reason"]
    assert granted.decisions["年龄"] == {"strategy": "keep", "reason": "L1, below L3"}
    wrong_purpose = engine.mask("pop_basic", Caller("r1", "researcher", purpose="other", approval_id="AP-T-0001"), [rec])
    assert wrong_purpose.records[0]["出生日期"] == "1987"
    assert "not issued for this purpose" in wrong_purpose.decisions["出生日期"]["reason"]
    other_ds = engine.mask("elsewhere", Caller("r1", "researcher", purpose="出生缺陷研究", approval_id="AP-T-0001"),
                           [rec], grades={k: FieldGrade("DATE_OF_BIRTH", "L3", None, True) for k in rec})
    assert other_ds.records[0]["出生日期"] == "1987"


@pytest.mark.parametrize("today,clear,note", [
    (date(2030, 6, 30), True, None),                                   # last valid day
    (date(2030, 7, 1), False, "approval AP-T-0001 expired 2030-06-30"),  # the day after
    (date(2031, 3, 1), False, "approval AP-T-0001 expired 2030-06-30"),  # far in the future
    (date(2026, 1, 1), True, None),                                    # long before expiry
])
def test_approval_expiry_follows_the_injected_clock(settings: Settings, master_key: bytes, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch, today: date, clear: bool,
                                                    note: str | None) -> None:
    seed_catalog(settings)
    engine = make_engine(settings, tmp_path, monkeypatch, today)
    rec = {"出生日期": "1987-06-15"}
    res = engine.mask("pop_basic", Caller("r1", "researcher", purpose="出生缺陷研究", approval_id="AP-T-0001"), [rec])
    assert res.records[0]["出生日期"] == ("1987-06-15" if clear else "1987")
    reason = res.decisions["出生日期"]["reason"]
    assert (note in reason) if note else "grants it in clear" in reason


def test_approval_without_expiry_still_grants_in_2099(settings: Settings, master_key: bytes, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    seed_catalog(settings)
    engine = make_engine(settings, tmp_path, monkeypatch, date(2099, 12, 31))
    res = engine.mask("pop_basic", Caller("r1", "researcher", approval_id="AP-T-OPEN"), [{"出生日期": "1987-06-15"}])
    assert res.records == [{"出生日期": "1987-06-15"}]


def test_clock_is_read_per_call_so_a_cached_plan_expires(settings: Settings, master_key: bytes, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """A long-running service: the same caller's plan is rebuilt when the date passes expiry."""
    seed_catalog(settings)
    clock = [date(2030, 6, 30)]
    engine = make_engine(settings, tmp_path, monkeypatch)
    engine.today = lambda: clock[0]
    caller = Caller("r1", "researcher", purpose="出生缺陷研究", approval_id="AP-T-0001")
    assert engine.mask("pop_basic", caller, [{"出生日期": "1987-06-15"}]).records == [{"出生日期": "1987-06-15"}]
    clock[0] = date(2030, 7, 1)
    assert engine.mask("pop_basic", caller, [{"出生日期": "1987-06-15"}]).records == [{"出生日期": "1987"}]


def test_default_clock_is_the_configured_time_zone(settings: Settings) -> None:
    """UTC+14 and UTC-11 are 25 hours apart: their dates differ at any instant."""
    from crypto.engine import local_today

    east = local_today(settings.model_copy(update={"timezone": "Pacific/Kiritimati"}))
    west = local_today(settings.model_copy(update={"timezone": "Pacific/Pago_Pago"}))
    assert 1 <= (east() - west()).days <= 2


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
       approval=st.sampled_from([None, "AP-T-0001", "AP-T-OPEN", "AP-bogus"]))
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


TOKEN_POLICY = """\
roles:
  auditor: {description: joins on tokens}
masks:
  CN_MOBILE: {strategy: mask_middle}
grade_masks:
  L3: {strategy: redact}
  L4: {strategy: redact}
rules:
  - id: auditor-tokens
    match: {roles: [auditor], entities: [CN_MOBILE]}
    strategy: tokenize_fpe
"""


def test_token_decisions_name_the_key_version_that_reverses_them(settings: Settings, master_key: bytes,
                                                                 tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from crypto.strategies import TokenizeParams

    policy = tmp_path / "masking.yaml"
    policy.write_text(TOKEN_POLICY, encoding="utf-8")
    monkeypatch.setenv("SHUWEI_CRYPTO__POLICY_FILE", str(policy))
    get_settings.cache_clear()
    engine = MaskingEngine.from_settings(get_settings(), today=lambda: TODAY)
    grades = {"tel": FieldGrade("CN_MOBILE", "L3", None, True)}
    caller = Caller("a1", "auditor")
    first = engine.mask("d", caller, [{"tel": "13812345678"}], grades=grades, emit_audit=False)
    assert first.decisions["tel"]["reason"].endswith("; FF1 key fpe version 1")
    engine.keys.keyring.rotate("fpe")
    second = engine.mask("d", caller, [{"tel": "13812345678"}], grades=grades, emit_audit=False)
    assert second.decisions["tel"]["reason"].endswith("; FF1 key fpe version 2")
    assert second.records != first.records
    for res, version in ((first, 1), (second, 2)):
        tok, _ = engine.keys.tokenizer(TokenizeParams(key_id="fpe"), reverse=True, version=version)
        assert tok.decrypt(res.records[0]["tel"]) == "13812345678"
