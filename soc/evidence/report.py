"""The evidence report: every 测评项 of the map judged from live evidence, with its reason.

A 测评项 is 符合 only when all its evidence is met; the worst evidence decides otherwise (a partial
one makes it 部分符合, a failed one 不符合). 不适用 comes only from a compliance officer's record
(:mod:`soc.evidence.applicability`), with its reason.
"""

from __future__ import annotations

from typing import Any

from classifier.settings import Settings
from soc.evidence import applicability
from soc.evidence.collectors import COLLECTORS, Sources
from soc.evidence.controls import ControlMap
from soc.evidence.scope import Scope

REPORT_VERSION = 2
JUDGEMENT = {"met": "符合", "partial": "部分符合", "gap": "不符合"}
NOT_APPLICABLE = "不适用"
JUDGEMENTS = ("符合", "部分符合", "不符合", NOT_APPLICABLE)
_RANK = {"met": 0, "partial": 1, "gap": 2}

# Headings of each kind of evidence in the report and the 测评记录 (Chinese, with English).
COLLECTOR_TITLES = {
    "classification": ("分类分级清单", "classification inventory"),
    "classification_review": ("数据属主复核", "owner review"),
    "protection": ("脱敏与加密覆盖", "protection coverage"),
    "masking_policy": ("脱敏策略", "masking policy"),
    "key_management": ("密钥管理", "key management"),
    "audit_integrity": ("审计记录完整性", "audit integrity"),
    "audit_trail": ("审计记录", "audit trail"),
    "audit_retention": ("审计记录留存", "audit retention"),
    "detection_rules": ("检测规则", "detection rules"),
    "alert_handling": ("告警处置", "alert handling"),
    "access": ("访问控制", "access"),
    "approvals": ("共享审批", "share approvals"),
    "releases": ("数据发布台账", "release ledger"),
}


def collect(settings: Settings, controls: ControlMap, scope: Scope) -> dict[str, dict[str, Any]]:
    """Run each collector the map needs once, on one set of sources."""
    sources = Sources(settings, scope)
    try:
        return {name: COLLECTORS[name](sources).as_dict() for name in controls.collectors()}
    finally:
        sources.close()


def _record_text(title: str, evidence: list[tuple[str, dict[str, Any]]], judgement: str) -> str:
    """The 测评记录 sentence an assessor writes: what was checked, what it showed, the verdict."""
    found = "；".join(f"{COLLECTOR_TITLES[name][0]}：{ev['summary']}" for name, ev in evidence)
    return f"经核查（{title.split(' — ')[0]}），{found}。测评结果：{judgement}。"


def judge(controls: ControlMap, evidence: dict[str, dict[str, Any]],
          not_applicable: dict[str, applicability.NotApplicable]) -> list[dict[str, Any]]:
    items = []
    for c in controls.controls:
        own = [(name, evidence[name]) for name in c.evidence]
        worst = max((ev["status"] for _, ev in own), key=_RANK.__getitem__)
        na = not_applicable.get(c.id)
        if na is not None:
            judgement = NOT_APPLICABLE
            reason = f"不适用: {na.reason} (recorded by {na.recorded_by}, {na.recorded_at})"
            record_text = f"经核查（{c.title.split(' — ')[0]}），{na.reason}。测评结果：{NOT_APPLICABLE}。"
        else:
            judgement = JUDGEMENT[worst]
            # The reason cites the evidence that decided: the failing ones first, all when met.
            deciding = [(n, ev) for n, ev in own if ev["status"] == worst]
            reason = f"{judgement}: " + "; ".join(ev["summary"] for _, ev in deciding)
            record_text = _record_text(c.title, own, judgement)
        items.append({"item": c.id, "standard": c.standard, "clause": c.clause,
                      "assessment": c.assessment, "title": c.title, "requirement": c.requirement,
                      "collectors": list(c.evidence), "status": worst, "judgement": judgement,
                      "reason": reason, "record_text": record_text,
                      "not_applicable": None if na is None else {
                          "reason": na.reason, "recorded_by": na.recorded_by, "recorded_at": na.recorded_at}})
    return items


def build_report(settings: Settings, controls: ControlMap, scope: Scope) -> dict[str, Any]:
    if scope.level != controls.level:
        from classifier.settings import ConfigError

        raise ConfigError(f"--level {scope.level}: the control map holds the 测评项 of level "
                          f"{controls.level} only (policies/controls.yaml)")
    evidence = collect(settings, controls, scope)
    items = judge(controls, evidence, applicability.current(settings.data_dir))
    summary: dict[str, int] = {"items": len(items), **{j: 0 for j in JUDGEMENTS}}
    for item in items:
        summary[item["judgement"]] += 1
    return {"report_version": REPORT_VERSION, "scope": scope.as_dict(), "summary": summary,
            "items": items, "evidence": evidence}


def conforms(report: dict[str, Any]) -> bool:
    """Every item 符合 or 不适用 (what ``shuwei evidence check`` exits 0 on)."""
    return all(i["judgement"] in ("符合", NOT_APPLICABLE) for i in report["items"])
