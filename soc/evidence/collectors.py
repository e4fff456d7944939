"""One collector per kind of evidence. Each reads what the suite already records — the catalog,
the keyring's metadata, the masking policy, the audit store and its hash chain, the rule pack and
the alerts — and says whether it supports its controls. Nothing here holds a raw sensitive value:
catalog samples are masked at scan time and key material is never read."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cached_property
from typing import Any, Literal

from classifier.dates import parse_when
from classifier.settings import Settings

# "partial": some of what the control asks is shown, not all — a gap for the control, with the share.
Status = Literal["met", "partial", "gap"]
OPEN_STATES = ("new", "acknowledged", "in_progress")


@dataclass
class Evidence:
    status: Status
    summary: str
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"status": self.status, "summary": self.summary, "details": self.details}


class Sources:
    """Opens each source once, on first use, for all collectors of one report."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @cached_property
    def soc(self) -> Any:
        from soc.ingest import IngestPipeline

        return IngestPipeline.from_settings(self.settings, detection=False, playbooks=False)

    def close(self) -> None:
        if "soc" in self.__dict__:
            self.soc.close()


def classification(src: Sources) -> Evidence:
    from classifier.catalog import Catalog

    catalog = Catalog.open(src.settings)
    try:
        datasets = catalog.list_datasets()
        drift = catalog.drift()
    finally:
        catalog.close()
    sensitive = sum(d["sensitive_columns"] for d in datasets)
    details = {
        "datasets": len(datasets),
        "by_grade": dict(sorted(Counter(d["grade"] for d in datasets).items())),
        "important_data_candidates": [d["dataset"] for d in datasets if d["important_data_candidate"]],
        "sensitive_columns": sensitive,
        "reviewed_columns": sum(d["reviewed_columns"] for d in datasets),
        "drift": [{k: v for k, v in d.items() if k in ("dataset", "column", "reviewed_grade",
                                                      "scanned_grade")} for d in drift],
        "catalog": [{k: d[k] for k in ("dataset", "grade", "columns", "sensitive_columns",
                                       "reviewed_columns", "scanned_at")} for d in datasets],
    }
    if not datasets:
        return Evidence("gap", "no dataset has been classified", details)
    if drift:
        return Evidence("gap", f"{len(drift)} reviewed column(s) drifted from their review", details)
    return Evidence("met", f"{len(datasets)} dataset(s) classified and graded; "
                    f"{sensitive} L3+ column(s)", details)


def classification_review(src: Sources) -> Evidence:
    """Owner review (数据分类分级 asks the data owner to confirm): every L3+ column reviewed."""
    from classifier.catalog import Catalog

    catalog = Catalog.open(src.settings)
    try:
        effective = [e for e in (catalog.effective(d["dataset"]) for d in catalog.list_datasets())
                     if e is not None]
    finally:
        catalog.close()
    per_dataset = []
    for eff in effective:
        sensitive = [c for c in eff["columns"] if c["grade"] in ("L3", "L4")]
        per_dataset.append({"dataset": eff["dataset"], "sensitive_columns": len(sensitive),
                            "reviewed": sum(bool(c["reviewed"]) for c in sensitive),
                            "unreviewed": ", ".join(c["name"] for c in sensitive if not c["reviewed"])})
    need = sum(d["sensitive_columns"] for d in per_dataset)
    done = sum(d["reviewed"] for d in per_dataset)
    details = {"sensitive_columns": need, "reviewed": done, "datasets": per_dataset}
    if not per_dataset:
        return Evidence("gap", "no dataset has been classified, so none is owner-reviewed", details)
    if need == 0:
        return Evidence("met", "no L3+ column needs an owner review", details)
    share = f"{done} of {need} L3+ column(s) reviewed by their data owner"
    if done == 0:
        return Evidence("gap", f"not owner-reviewed: {share} (shuwei classify review)", details)
    if done < need:
        return Evidence("partial", f"partly owner-reviewed: {share}", details)
    return Evidence("met", f"owner-reviewed: {share}", details)


def encryption_keys(src: Sources) -> Evidence:
    from crypto.errors import CryptoError
    from crypto.keyring import Keyring

    try:
        keys = Keyring.open(src.settings).entries()
    except CryptoError as exc:
        return Evidence("gap", f"keyring unavailable: {exc}")
    active = [k for k in keys if k["state"] == "active"]
    details = {"keys": keys, "max_key_age_days": src.settings.section("evidence").get(
        "max_key_age_days", 365)}
    if not active:
        return Evidence("gap", "no active key in the keyring", details)
    now = datetime.now(timezone.utc)
    stale = [k["key_id"] for k in active
             if (now - parse_when(k["created"])).days > int(details["max_key_age_days"])]
    if stale:
        return Evidence("gap", f"active key(s) not rotated within {details['max_key_age_days']} "
                        f"days: {', '.join(stale)}", details)
    return Evidence("met", f"{len(active)} active key(s), master key wraps all key material "
                    "(SM4-GCM)", details)


def masking_policy(src: Sources) -> Evidence:
    from crypto.engine import MaskingEngine
    from crypto.errors import CryptoError

    try:
        policy = MaskingEngine.from_settings(src.settings).policy
    except CryptoError as exc:
        return Evidence("gap", f"masking policy does not load: {exc}")
    details = {"file": policy.file, "consumer_roles": sorted(policy.roles),
               "rules": [r.id for r in policy.rules], "approvals": sorted(policy.approvals),
               "masked_entities": sorted(policy.masks),
               "default_deny_grades": sorted(policy.grade_masks),
               "k_anonymity": policy.k}
    return Evidence("met", f"default-deny for {', '.join(sorted(policy.grade_masks))}; "
                    f"{len(policy.rules)} rule(s), {len(policy.approvals)} approval(s)", details)


def audit_integrity(src: Sources) -> Evidence:
    """Signed checkpoints and anchors (soc/integrity/evidence.py), never the chain alone."""
    from soc.integrity.evidence import judge

    status, summary, details = judge(src.soc.store)
    return Evidence(status, summary, details)


def audit_retention(src: Sources) -> Evidence:
    from soc.config import soc_config

    days = soc_config(src.settings).retention_days
    store = src.soc.store
    details = {"retention_days": days, "events": store.count()}
    if not details["events"]:
        return Evidence("gap", "the audit trail is empty: nothing has been recorded yet", details)
    if days < 180:
        return Evidence("gap", f"retention {days} days is below 6 months (网络安全法 art. 21)", details)
    return Evidence("met", f"retention {days} days (≥ 180); {details['events']} event(s) stored",
                    details)


def detection_rules(src: Sources) -> Evidence:
    from soc.config import rules_dir, soc_config
    from soc.detection import RulePack

    cfg = soc_config(src.settings)
    pack = RulePack.load(rules_dir(src.settings, cfg), cfg.placeholders)
    details = {"rules": len(pack.rules), "correlations": len(pack.correlations),
               "errors": [str(e) for e in pack.errors]}
    if pack.errors or not pack.rules:
        return Evidence("gap", f"rule pack: {len(pack.errors)} rule(s) failed to load", details)
    return Evidence("met", f"{len(pack.rules)} Sigma rule(s) and {len(pack.correlations)} "
                    "correlation(s) active", details)


def alert_handling(src: Sources) -> Evidence:
    alerts = src.soc.alerts.list()
    by_status = Counter(a["status"] for a in alerts)
    open_high = [a["id"] for a in alerts
                 if a["status"] in OPEN_STATES and a["severity"] in ("high", "critical")]
    details = {"alerts": len(alerts), "by_status": dict(sorted(by_status.items())),
               "by_severity": dict(sorted(Counter(a["severity"] for a in alerts).items())),
               "open_high_or_critical": open_high[:100]}
    if open_high:
        return Evidence("gap", f"{len(open_high)} high/critical alert(s) still open", details)
    return Evidence("met", f"{len(alerts)} alert(s); none high/critical left open", details)


COLLECTORS: dict[str, Callable[[Sources], Evidence]] = {
    "classification": classification,
    "classification_review": classification_review,
    "encryption_keys": encryption_keys,
    "masking_policy": masking_policy,
    "audit_integrity": audit_integrity,
    "audit_retention": audit_retention,
    "detection_rules": detection_rules,
    "alert_handling": alert_handling,
}
