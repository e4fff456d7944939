"""The evidence judgement for 8.1.4.3 c / 8.1.4.7 / GB/T 39786 8.4 g: from the signed checkpoints
and the anchors, never from the unkeyed chain alone (whoever can write the store can rebuild it)."""

from __future__ import annotations

from typing import Any, Literal

Status = Literal["met", "partial", "gap"]


def judge(store: Any) -> tuple[Status, str, dict[str, Any]]:
    """Status, summary and details of the audit trail's integrity in ``store``."""
    if not hasattr(store, "verify"):
        return "gap", "this store cannot verify its audit trail", {}
    if store.count() == 0:
        return "gap", "the audit trail is empty: nothing has been recorded yet", {}
    report = store.verify()
    signing = store.signing
    details = {"checked": report.checked, "purged": report.purged, "signed_checkpoints": report.signed,
               "anchors": str(signing.anchors) if signing.anchors else None,
               "rollback_detectable": signing.key is not None and signing.anchors is not None,
               "problems": [p.as_dict() for p in report.problems][:100], "warnings": report.warnings}
    if not report.ok:
        first = report.problems[0]
        return "gap", (f"audit trail tampered: {len(report.problems)} problem(s), first: {first.kind} "
                       f"— {first.detail}"), details
    if signing.key is None:
        return "gap", ("checkpoints are not signed (no master key): an unkeyed SM3 chain does not show "
                       "integrity against whoever can write the store"), details
    signed = f"{report.signed} signed checkpoint(s) verify over {report.checked} event(s)"
    if signing.anchors is None:
        return "partial", (f"{signed}; rollback cannot be detected: no anchors (soc.anchors), so an older "
                           "copy of the store would verify"), details
    return "met", (f"{signed} and agree with the anchors in {signing.anchors}: edits, deletions, forged "
                   "purges and rollback to an older copy are detected"), details
