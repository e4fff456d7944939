"""Stored share approvals (授权, 事前管审批): request → approve | reject; approved → revoke | expired.

An approval grants named fields of one dataset in clear to one consumer (org, role, optionally one
user) for a purpose and a period. The requester never approves their own request; who may decide
(a data owner of the dataset, or an admin) is checked by the caller (CLI or API), which knows the
actor. Expiry is derived from ``valid_until`` and the ``today`` each call is given — never read
from the system clock here, so tests and the engine pass their own clock.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

from classifier import audit
from crypto.policy import Approval
from crypto.share.db import ShareError as ShareError, connect, db_path  # re-exported for callers

State = Literal["pending", "approved", "rejected", "revoked", "expired"]
Operation = Literal["approve", "reject", "revoke"]
STATES: tuple[State, ...] = ("pending", "approved", "rejected", "revoked", "expired")
OPERATIONS: tuple[Operation, ...] = ("approve", "reject", "revoke")
_FROM = {"approve": "pending", "reject": "pending", "revoke": "approved"}
_TO: dict[str, State] = {"approve": "approved", "reject": "rejected", "revoke": "revoked"}


@dataclass(frozen=True)
class Consumer:
    org: str
    role: str
    user: str | None = None  # None: every user of the org and role


@dataclass(frozen=True)
class StoredApproval:
    approval_id: str
    dataset: str
    fields: tuple[str, ...]
    consumer: Consumer
    purpose: str
    valid_from: date
    valid_until: date
    stored_state: State
    requested_by: str
    requested_at: str
    decided_by: str | None
    decided_at: str | None
    comment: str | None

    def state(self, today: date) -> State:
        """The stored state, with an approved one past ``valid_until`` read as ``expired``."""
        if self.stored_state == "approved" and today > self.valid_until:
            return "expired"
        return self.stored_state

    def to_dict(self, today: date) -> dict[str, Any]:
        """The contract's approval object."""
        c = self.consumer
        return {"approval_id": self.approval_id, "dataset": self.dataset, "fields": list(self.fields),
                "consumer": {"org": c.org, "role": c.role, "user": c.user}, "purpose": self.purpose,
                "valid_from": self.valid_from.isoformat(), "valid_until": self.valid_until.isoformat(),
                "state": self.state(today), "requested_by": self.requested_by,
                "requested_at": self.requested_at, "decided_by": self.decided_by,
                "decided_at": self.decided_at, "comment": self.comment}

    def as_policy_approval(self) -> Approval:
        """The policy engine's view: the same matching as a YAML approval, plus the org."""
        c = self.consumer
        return Approval(self.approval_id, 0, frozenset(self.fields), frozenset({self.dataset}),
                        frozenset({c.role}), frozenset({c.user}) if c.user else None,
                        frozenset({self.purpose}), self.valid_until, orgs=frozenset({c.org}))


def _row(r: sqlite3.Row) -> StoredApproval:
    return StoredApproval(r["approval_id"], r["dataset"], tuple(json.loads(r["fields"])),
                          Consumer(r["org"], r["role"], r["user"]), r["purpose"],
                          date.fromisoformat(r["valid_from"]), date.fromisoformat(r["valid_until"]),
                          r["state"], r["requested_by"], r["requested_at"], r["decided_by"],
                          r["decided_at"], r["comment"])


def request(data_dir: Path, *, dataset: str, fields: list[str], consumer: Consumer, purpose: str,
            valid_from: date, valid_until: date, requested_by: str, now: datetime) -> StoredApproval:
    """Store a new ``pending`` approval with the next ``AP-<year>-<nnnn>`` id."""
    names = list(dict.fromkeys(f.strip() for f in fields if f.strip()))
    for what, value in (("dataset", dataset), ("consumer.org", consumer.org), ("consumer.role", consumer.role),
                        ("purpose", purpose), ("requested_by", requested_by)):
        if not value.strip():
            raise ShareError(f"{what} must not be empty", "invalid")
    if not names:
        raise ShareError("fields: list at least one field to grant in clear", "invalid")
    if valid_until < valid_from:
        raise ShareError(f"valid_until {valid_until} is before valid_from {valid_from}", "invalid")
    if valid_until < now.date():
        raise ShareError(f"valid_until {valid_until} is already past", "invalid")
    prefix = f"AP-{now.year}-"
    with connect(data_dir) as conn:
        last = conn.execute("SELECT approval_id FROM approvals WHERE approval_id LIKE ? "
                            "ORDER BY length(approval_id) DESC, approval_id DESC LIMIT 1",
                            (prefix + "%",)).fetchone()
        seq = int(last[0][len(prefix):]) + 1 if last else 1
        aid = f"{prefix}{seq:04d}"
        conn.execute("INSERT INTO approvals VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                     (aid, dataset, json.dumps(names, ensure_ascii=False), consumer.org, consumer.role,
                      consumer.user, purpose, valid_from.isoformat(), valid_until.isoformat(), "pending",
                      requested_by, now.isoformat(timespec="seconds"), None, None, None))
    return get(data_dir, aid)


def get(data_dir: Path, approval_id: str) -> StoredApproval:
    found = _find(data_dir, approval_id)
    if found is None:
        raise ShareError(f"approval {approval_id} not found", "not_found")
    return found


def _find(data_dir: Path, approval_id: str) -> StoredApproval | None:
    if not db_path(data_dir).exists():
        return None
    with connect(data_dir) as conn:
        r = conn.execute("SELECT * FROM approvals WHERE approval_id = ?", (approval_id,)).fetchone()
    return _row(r) if r else None


def list_approvals(data_dir: Path, today: date, *, dataset: str | None = None,
                   state: State | None = None) -> list[StoredApproval]:
    if not db_path(data_dir).exists():
        return []
    with connect(data_dir) as conn:
        rows = conn.execute("SELECT * FROM approvals WHERE (? IS NULL OR dataset = ?) ORDER BY requested_at, "
                            "approval_id", (dataset, dataset)).fetchall()
    out = [_row(r) for r in rows]
    return [a for a in out if state is None or a.state(today) == state]


def decide(data_dir: Path, approval_id: str, operation: Operation, *, decided_by: str, now: datetime,
           today: date, comment: str | None = None) -> StoredApproval:
    """Apply ``operation``; refuses self-approval and any transition the lifecycle does not allow."""
    with connect(data_dir) as conn:
        r = conn.execute("SELECT * FROM approvals WHERE approval_id = ?", (approval_id,)).fetchone()
        if r is None:
            raise ShareError(f"approval {approval_id} not found", "not_found")
        current = _row(r)
        state = current.state(today)
        if operation == "approve" and decided_by == current.requested_by:
            raise ShareError(f"approval {approval_id}: {decided_by} requested it and cannot approve it "
                             "(self-approval refused)", "self_approval")
        if state != _FROM[operation]:
            raise ShareError(f"approval {approval_id} is {state}: cannot {operation} it", "conflict")
        if operation == "approve" and today > current.valid_until:
            raise ShareError(f"approval {approval_id}: its period ended {current.valid_until}", "conflict")
        conn.execute("UPDATE approvals SET state = ?, decided_by = ?, decided_at = ?, comment = ? "
                     "WHERE approval_id = ?", (_TO[operation], decided_by, now.isoformat(timespec="seconds"),
                                               comment, approval_id))
    return get(data_dir, approval_id)


def grant(data_dir: Path, approval_id: str, today: date) -> Approval | str | None:
    """What a stored approval grants on ``today``: the policy Approval while approved and in its
    period, a refusal note (``revoked``, ``expired …``) otherwise, ``None`` when no such id is stored."""
    found = _find(data_dir, approval_id)
    if found is None:
        return None
    state = found.state(today)
    if state == "expired":
        return f"expired {found.valid_until.isoformat()}"
    if state != "approved":
        return f"is {state}"
    if today < found.valid_from:
        return f"not valid before {found.valid_from.isoformat()}"
    return found.as_policy_approval()


def event(approval: StoredApproval, operation: Operation | Literal["request"], actor: str, *,
          result: str = "success", reason: str | None = None, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The audit event of a state change: ``share_request``, or ``share_approve`` with
    ``extra.operation`` (``target_user`` is the requester, so self-approval attempts show)."""
    c = approval.consumer
    more: dict[str, Any] = {**(extra or {})}
    if reason:
        more["reason"] = reason
    if operation == "request":
        return audit.make_event("share_request", user=actor, result=result, dataset=approval.dataset,
                                fields=list(approval.fields), purpose=approval.purpose,
                                approval_id=approval.approval_id,
                                extra={"consumer": {"org": c.org, "role": c.role, "user": c.user},
                                       "valid_from": approval.valid_from.isoformat(),
                                       "valid_until": approval.valid_until.isoformat(), **more})
    return audit.make_event("share_approve", user=actor, result=result, target_user=approval.requested_by,
                            dataset=approval.dataset, fields=list(approval.fields), purpose=approval.purpose,
                            approval_id=approval.approval_id,
                            extra={"operation": operation, "consumer": {"org": c.org, "role": c.role,
                                                                        "user": c.user}, **more})
