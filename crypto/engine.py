"""Dynamic desensitization: records in, masked records, per-field decisions and fallbacks out —
the engine behind ``POST /v1/mask`` and ``shuwei mask``.

Per call the engine looks up field grades (reviewed catalog; datasets or fields the catalog does
not know are classified on the fly from the records), decides a strategy per field from the
policy, compiles the decisions into a plan (cached per dataset, caller, fields and grades) and runs
it over the records. One ``mask`` audit event per call.
"""

from __future__ import annotations

from dataclasses import dataclass, field as dc_field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

from classifier import audit
from classifier.settings import Settings
from classifier.whoami import current_user
from crypto.errors import RecordError
from crypto.keys import ManagedKeys
from crypto.policy import Approval, Decision, MaskingPolicy
from crypto.share import approvals as share_approvals, releases
from crypto.strategies import Masker, Unfit, fallback

POLICY_FILE = "masking.yaml"
_PLAN_CACHE_MAX = 256


@dataclass(frozen=True)
class Caller:
    """The data consumer at the exchange platform (the contract's ``caller`` object)."""

    user: str
    role: str
    org: str | None = None
    purpose: str | None = None
    approval_id: str | None = None


@dataclass
class MaskResult:
    records: list[dict[str, Any]]
    decisions: dict[str, dict[str, str]]
    fallbacks: list[str] = dc_field(default_factory=list)
    clear: tuple[str, ...] = ()  # L3+ fields granted in clear
    masked: tuple[str, ...] = ()
    release_id: str | None = None  # set when the call was recorded as a release

    def to_dict(self) -> dict[str, Any]:
        return {"records": self.records, "decisions": self.decisions, "fallbacks": self.fallbacks}


@dataclass(frozen=True)
class _Plan:
    decisions: dict[str, dict[str, str]]
    steps: tuple[tuple[str, Masker, str], ...]  # (field, masker, fallback mode); keep omitted
    granted: tuple[str, ...]


def policy_path(settings: Settings) -> Path:
    custom = settings.section("crypto").get("policy_file")
    return Path(custom) if custom else settings.policy_dir / POLICY_FILE


class MaskingEngine:
    """Thread-safe for concurrent ``mask`` calls (plans are immutable once built)."""

    def __init__(self, policy: MaskingPolicy, settings: Settings, keys: ManagedKeys | None = None) -> None:
        self.policy = policy
        self.settings = settings
        self.keys = keys or ManagedKeys(settings)
        self._catalog: Any = None
        self._plans: dict[tuple[Any, ...], _Plan] = {}

    @classmethod
    def from_settings(cls, settings: Settings) -> MaskingEngine:
        """Load and validate the policy (PolicyError names file, line, rule)."""
        approvals = settings.section("crypto").get("approvals_file")
        policy = MaskingPolicy.load(policy_path(settings), Path(approvals) if approvals else None)
        return cls(policy, settings)

    # -- grades ------------------------------------------------------------------------------
    def field_grades(self, dataset: str, records: list[dict[str, Any]], fields: list[str]) -> dict[str, Any]:
        """Catalog grades, with unknown datasets/fields classified on the fly (no catalog write)."""
        if self._catalog is None:
            from classifier.catalog import Catalog

            self._catalog = Catalog.open(self.settings)
        known = self._catalog.field_grades(dataset) or {}
        missing = [f for f in fields if f not in known]
        if not missing:
            return known
        from classifier.classify import classify_records

        sample = [{f: r.get(f) for f in missing} for r in records]
        return {**known, **classify_records(sample, dataset)}

    # -- the call ----------------------------------------------------------------------------
    def mask(self, dataset: str, caller: Caller, records: list[dict[str, Any]], *,
             grades: dict[str, Any] | None = None, emit_audit: bool = True) -> MaskResult:
        """Mask ``records`` for ``caller``. ``grades`` overrides the catalog (static mode, tests)."""
        fields: dict[str, None] = {}
        for index, record in enumerate(records):
            if not isinstance(record, dict):
                raise RecordError(index, None, "a record must be a JSON object")
            fields.update(dict.fromkeys(record))
        names = list(fields)
        if grades is None:
            grades = self.field_grades(dataset, records, names) if names else {}
        plan = self._plan(dataset, caller, names, grades)
        out, fell = self._run(plan, records)
        fallbacks = [f for f in names if f in fell]
        result = MaskResult(out, plan.decisions, fallbacks, plan.granted, tuple(s[0] for s in plan.steps))
        if emit_audit:
            result.release_id = self.release(dataset, caller, names, len(records), plan.decisions,
                                             plan.granted, result.masked, fallbacks)
        return result

    def release(self, dataset: str, caller: Caller, names: list[str], rows: int,
                decisions: dict[str, dict[str, str]], clear: tuple[str, ...] | list[str],
                masked: tuple[str, ...] | list[str], fallbacks: list[str]) -> str:
        """Record the release in the ledger (durably), then emit its ``mask`` event; the release id."""
        rel = releases.record(self.settings.data_dir, dataset=dataset, user=caller.user or current_user(),
                              role=caller.role, org=caller.org, purpose=caller.purpose,
                              approval_id=caller.approval_id, rows=rows,
                              fields={f: d["strategy"] for f, d in decisions.items()},
                              now=datetime.now(timezone.utc).astimezone())
        audit.emit(audit.make_event(
            "mask", user=caller.user or current_user(), role=caller.role, org=caller.org,
            dataset=dataset, fields=names, rows=rows, purpose=caller.purpose,
            approval_id=caller.approval_id,
            extra={"clear": list(clear), "fallbacks": fallbacks, "masked": list(masked),
                   "release_id": rel.release_id}), self.settings.data_dir)
        return rel.release_id

    @staticmethod
    def _run(plan: _Plan, records: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], set[str]]:
        steps, fell = plan.steps, set()
        out: list[dict[str, Any]] = []
        append = out.append
        for record in records:
            masked = dict(record)
            for name, masker, mode in steps:
                value = masked.get(name)
                if value is None:
                    continue
                try:
                    masked[name] = masker(value)
                except Unfit:
                    masked[name] = fallback(value, mode)
                    fell.add(name)
            append(masked)
        return out, fell

    def _plan(self, dataset: str, caller: Caller, names: list[str], grades: dict[str, Any]) -> _Plan:
        key = (dataset, caller.role, caller.user, caller.org, caller.purpose, caller.approval_id, tuple(names),
               tuple(grades.get(n) for n in names), self.keys.generation(), date.today(),
               self._stored_approval(caller, date.today()))
        plan = self._plans.get(key)
        if plan is None:
            plan = self._compile(dataset, caller, names, grades)
            if len(self._plans) >= _PLAN_CACHE_MAX:
                self._plans.clear()
            self._plans[key] = plan
        return plan

    def decide(self, dataset: str, caller: Caller, names: list[str], grades: dict[str, Any]) -> dict[str, Decision]:
        policy = self.policy
        today = date.today()
        approval, note = policy.approval_status(caller.approval_id, dataset, caller.role, caller.user,
                                                caller.purpose, today, org=caller.org,
                                                stored=self._stored_approval(caller, today))
        out = {}
        for name in names:
            fg = grades.get(name)
            entity, grade, category = ((fg.entity, fg.grade, fg.category) if fg is not None
                                       else (None, "L4", None))  # ungraded: treat as most sensitive
            out[name] = policy.decide(dataset, name, entity, grade, category, caller.role,
                                      caller.purpose, approval, note)
        return out

    def _stored_approval(self, caller: Caller, today: date) -> Approval | str | None:
        """A stored approval (``shuwei share``) for an id the policy files do not define; read on
        every call, so a revoked or expired one stops granting at once."""
        aid = caller.approval_id
        if not aid or aid in self.policy.approvals:
            return None
        return share_approvals.grant(self.settings.data_dir, aid, today)

    def _compile(self, dataset: str, caller: Caller, names: list[str], grades: dict[str, Any]) -> _Plan:
        decided = self.decide(dataset, caller, names, grades)
        steps = []
        for name, d in decided.items():
            if d.strategy.id == "keep":
                continue
            fg = grades.get(name)
            masker = d.strategy.build(fg.entity if fg else None, dataset, name,
                                      self.keys if d.strategy.keyed else None)
            steps.append((name, masker, d.strategy.params.fallback))
        return _Plan({n: {"strategy": d.strategy.id, "reason": d.reason} for n, d in decided.items()},
                     tuple(steps), tuple(n for n, d in decided.items() if d.granted))
