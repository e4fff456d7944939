"""Dynamic desensitization: records in, masked records, per-field decisions and fallbacks out —
the engine behind ``POST /v1/mask`` and ``shuwei mask``.

Per call the engine looks up field grades (reviewed catalog; datasets or fields the catalog does
not know are classified on the fly from the records), decides a strategy per field from the
policy, compiles the decisions into a plan (cached per dataset, caller, fields and grades) and runs
it over the records. One ``mask`` audit event per call.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field as dc_field
from itertools import chain
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from classifier import audit
from classifier.gcpause import gc_paused
from classifier.settings import Settings
from classifier.whoami import current_user
from crypto.errors import RecordError
from crypto.keys import ManagedKeys
from crypto.policy import Approval, Decision, MaskingPolicy
from crypto.nested import leaf_paths, run_nested, top_field
from crypto.paths import any_nesting
from crypto.share import approvals as share_approvals, releases
from crypto.share.watermark import (MARKABLE, METHOD, TAG_HEX, Marker, Prf, Tagger, Utility, WatermarkSpec,
                                    org_hash_key, org_tag_key, recipient_key)
from crypto.strategies import Masker, TokenizeParams, Unfit, fallback
from crypto.textmask import TextMasker

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
    decisions: dict[str, dict[str, Any]]  # field → strategy, reason (text: spans masked per entity)
    fallbacks: list[str] = dc_field(default_factory=list)
    clear: tuple[str, ...] = ()  # L3+ fields granted in clear
    masked: tuple[str, ...] = ()
    release_id: str | None = None  # set when the call was recorded as a release
    watermark: dict[str, Any] | None = None  # the release's watermark parameters and utility

    def to_dict(self) -> dict[str, Any]:
        return {"records": self.records, "decisions": self.decisions, "fallbacks": self.fallbacks}


@dataclass(frozen=True)
class _Plan:
    decisions: dict[str, dict[str, str]]
    steps: tuple[tuple[str, Masker, str], ...]  # (field, masker, fallback mode); keep omitted
    granted: tuple[str, ...]
    texts: tuple[tuple[str, TextMasker], ...] = ()  # free-text fields masked span by span
    tagger: Tagger | None = None  # per-org pseudonym tags
    marker: Marker | None = None  # value watermark of the recipient (runs last)
    watermark: dict[str, Any] | None = None  # its parameters, for the release ledger


def policy_path(settings: Settings) -> Path:
    custom = settings.section("crypto").get("policy_file")
    return Path(custom) if custom else settings.policy_dir / POLICY_FILE


def local_today(settings: Settings) -> Callable[[], date]:
    """Today's date in the configured time zone: approvals expire on a calendar date there."""
    zone = ZoneInfo(settings.timezone)
    return lambda: datetime.now(zone).date()


class MaskingEngine:
    """Thread-safe for concurrent ``mask`` calls (plans are immutable once built).

    ``today`` is the clock approvals are checked against (like Fernet's ``current_time``), so
    tests and replays decide at a date of their choosing."""

    def __init__(self, policy: MaskingPolicy, settings: Settings, keys: ManagedKeys | None = None, *,
                 today: Callable[[], date] | None = None) -> None:
        self.policy = policy
        self.settings = settings
        self.keys = keys or ManagedKeys(settings)
        self.today = today or local_today(settings)
        self._catalog: Any = None
        self._text: Any = None
        self._plans: dict[tuple[Any, ...], _Plan] = {}

    @classmethod
    def from_settings(cls, settings: Settings, *, today: Callable[[], date] | None = None) -> MaskingEngine:
        """Load and validate the policy (PolicyError names file, line, rule)."""
        approvals = settings.section("crypto").get("approvals_file")
        policy = MaskingPolicy.load(policy_path(settings), Path(approvals) if approvals else None)
        return cls(policy, settings, today=today)

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

        tops = dict.fromkeys(top_field(f) for f in missing)
        sample = [{t: r.get(t) for t in tops} for r in records]
        fresh = classify_records(sample, dataset, self.settings)
        return {**known, **{f: g for f, g in fresh.items() if f not in known}}

    # -- the call ----------------------------------------------------------------------------
    def mask(self, dataset: str, caller: Caller, records: list[dict[str, Any]], *,
             grades: dict[str, Any] | None = None, emit_audit: bool = True) -> MaskResult:
        """Mask ``records`` for ``caller``. ``grades`` overrides the catalog (static mode, tests)."""
        with gc_paused():  # a call builds an object per record, per field and per span (gcpause)
            return self._mask(dataset, caller, records, grades, emit_audit)

    def _mask(self, dataset: str, caller: Caller, records: list[dict[str, Any]],
              grades: dict[str, Any] | None, emit_audit: bool) -> MaskResult:
        fields: dict[str, None] = {}
        keys: Any = None  # the previous record's keys: records of a call mostly share them
        for index, record in enumerate(records):
            if not isinstance(record, dict):
                raise RecordError(index, None, "a record must be a JSON object")
            if record.keys() != keys:
                fields.update(dict.fromkeys(record))
                keys = record.keys()
        nested = any_nesting(chain.from_iterable(map(dict.values, records)))
        names = leaf_paths(records) if nested else list(fields)
        if grades is None:
            grades = self.field_grades(dataset, records, names) if names else {}
        elif nested:
            grades = {**self.field_grades(dataset, records, [n for n in names if n not in grades]), **grades}
        plan = self._plan(dataset, caller, names, grades)
        spans: dict[str, dict[str, int]] = {}
        out, fell = (run_nested(plan.steps, plan.texts, plan.granted, records, spans) if nested
                     else self._run(plan, records, spans))
        fallbacks = [f for f in names if f in fell]
        decisions = {n: ({**d, "spans": spans[n]} if spans.get(n) else d) for n, d in plan.decisions.items()}
        result = MaskResult(out, decisions, fallbacks, plan.granted, tuple(s[0] for s in plan.steps))
        if plan.watermark is not None:
            utility: dict[str, Utility] = {}
            if plan.tagger is not None:
                plan.tagger.apply(out)
            if plan.marker is not None:
                plan.marker.apply(out, utility)
            result.watermark = {**plan.watermark, "utility": {f: u.to_dict() for f, u in utility.items()}}
        if emit_audit:
            result.release_id = self.release(dataset, caller, names, len(records), plan.decisions,
                                             plan.granted, result.masked, fallbacks, spans,
                                             watermark=result.watermark)
        return result

    def release(self, dataset: str, caller: Caller, names: list[str], rows: int,
                decisions: dict[str, dict[str, Any]], clear: tuple[str, ...] | list[str],
                masked: tuple[str, ...] | list[str], fallbacks: list[str],
                spans: dict[str, dict[str, int]] | None = None, *,
                watermark: dict[str, Any] | None = None) -> str:
        """Record the release in the ledger (durably), then emit its ``mask`` event; the release id."""
        rel = releases.record(self.settings.data_dir, dataset=dataset, user=caller.user or current_user(),
                              role=caller.role, org=caller.org, purpose=caller.purpose,
                              approval_id=caller.approval_id, rows=rows,
                              fields={f: d["strategy"] for f, d in decisions.items()},
                              now=datetime.now(timezone.utc).astimezone(), watermark=watermark)
        audit.emit(audit.make_event(
            "mask", user=caller.user or current_user(), role=caller.role, org=caller.org,
            dataset=dataset, fields=names, rows=rows, purpose=caller.purpose,
            approval_id=caller.approval_id,
            extra={"clear": list(clear), "fallbacks": fallbacks, "masked": list(masked),
                   "release_id": rel.release_id,
                   "spans": {f: c for f, c in (spans or {}).items() if c}}), self.settings.data_dir)
        return rel.release_id

    @staticmethod
    def _run(plan: _Plan, records: list[dict[str, Any]], spans: dict[str, dict[str, int]]
             ) -> tuple[list[dict[str, Any]], set[str]]:
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
        for name, text in plan.texts:
            text.prepare(r.get(name) for r in out)
            counts = spans.setdefault(name, {})
            for r in out:
                value = r.get(name)
                if isinstance(value, str):
                    r[name] = text.mask(value, counts)
        return out, fell

    def _plan(self, dataset: str, caller: Caller, names: list[str], grades: dict[str, Any]) -> _Plan:
        today = self.today()
        key = (dataset, caller.role, caller.user, caller.org, caller.purpose, caller.approval_id, tuple(names),
               tuple(grades.get(n) for n in names), self.keys.generation(), today,
               self._stored_approval(caller, today))
        plan = self._plans.get(key)
        if plan is None:
            plan = self._compile(dataset, caller, names, grades)
            if len(self._plans) >= _PLAN_CACHE_MAX:
                self._plans.clear()
            self._plans[key] = plan
        return plan

    def decide(self, dataset: str, caller: Caller, names: list[str], grades: dict[str, Any]) -> dict[str, Decision]:
        policy = self.policy
        today = self.today()
        approval, note = policy.approval_status(caller.approval_id, dataset, caller.role, caller.user,
                                                caller.purpose, today, org=caller.org,
                                                stored=self._stored_approval(caller, today))
        out = {}
        for name in names:
            fg = grades.get(name)
            entity, grade, category = ((fg.entity, fg.grade, fg.category) if fg is not None
                                       else (None, "L4", None))  # ungraded: treat as most sensitive
            out[name] = policy.decide(dataset, name, entity, grade, category, caller.role,
                                      caller.purpose, approval, note,
                                      text=bool(fg is not None and getattr(fg, "embedded", ())))
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
        steps, texts = [], []
        reasons = {n: d.reason for n, d in decided.items()}
        wm = _Watermarking(self.policy.watermark, self.keys, caller, decided, grades)
        for name, d in decided.items():
            if d.strategy.id == "mask_spans" or d.below_l3:
                # free text, and (guard) text kept as below L3: its L3+ spans are still masked
                texts.append((name, self._text_masker(dataset, caller, name)))
                continue
            if d.strategy.id == "keep":
                continue
            fg = grades.get(name)
            masker = d.strategy.build(fg.entity if fg else None, dataset, name,
                                      wm.keys_for(name, d.strategy.id) if d.strategy.keyed else None)
            steps.append((name, masker, d.strategy.params.fallback))
            if isinstance(d.strategy.params, TokenizeParams):  # tokens do not carry their version: say it
                key_id = d.strategy.params.key_id
                reasons[name] += f"; FF1 key {key_id} version {self.keys.active_version(key_id)}"
        return _Plan({n: {"strategy": d.strategy.id, "reason": reasons[n]} for n, d in decided.items()},
                     tuple(steps), tuple(n for n, d in decided.items() if d.granted), tuple(texts),
                     wm.tagger, wm.marker, wm.params())

    def _text_masker(self, dataset: str, caller: Caller, name: str) -> TextMasker:
        """Each span entity decided as if it were the field's entity, at the entity's grade."""
        if self._text is None:
            from classifier.policy import Policy
            from classifier.text import TextScanner

            self._text = (TextScanner(), Policy.from_settings(self.settings))
        scanner, grading = self._text
        today = self.today()
        approval, note = self.policy.approval_status(caller.approval_id, dataset, caller.role, caller.user,
                                                     caller.purpose, today, org=caller.org,
                                                     stored=self._stored_approval(caller, today))
        maskers: dict[str, Masker | None] = {}
        repeatable: list[str] = []
        for entity in dict.fromkeys(scanner.entities):
            grade, category = grading.entity_grade(entity, dataset)
            d = self.policy.decide(dataset, name, entity, grade, category, caller.role, caller.purpose,
                                   approval, note)
            maskers[entity] = None if d.strategy.id == "keep" else d.strategy.build(
                entity, dataset, name, self.keys if d.strategy.keyed else None)
            if d.strategy.repeatable:
                repeatable.append(entity)
        return TextMasker(scanner, maskers, repeatable)


class _OrgKeys:
    """The managed keys as one consumer org sees them: ``hash`` pseudonyms under the org's own key."""

    def __init__(self, keys: ManagedKeys, org: str) -> None:
        self._keys, self._org = keys, org

    def hmac_key(self, key_id: str) -> bytes:
        return org_hash_key(self._keys.hmac_key(key_id), self._org)

    def ff1(self, key_id: str, cipher: str, alphabet: str) -> Any:
        return self._keys.ff1(key_id, cipher, alphabet)

    def field_cipher(self, key_id: str, algorithm: str) -> Any:
        return self._keys.field_cipher(key_id, algorithm)


class _Watermarking:
    """What the policy's ``watermark:`` section adds to one plan (docs/design/watermark.md): the
    recipient's value marks, and ``hash`` pseudonyms keyed and tagged per consumer org. Values the
    policy masks in any other way, or grants in clear, are never touched."""

    def __init__(self, spec: WatermarkSpec | None, keys: ManagedKeys, caller: Caller,
                 decided: dict[str, Decision], grades: dict[str, Any]) -> None:
        self.spec, self.keys, self.org = spec, keys, caller.org
        self.marker: Marker | None = None
        self.tagger: Tagger | None = None
        self.pseudonyms: tuple[str, ...] = ()
        if spec is None:
            return
        marks = []
        for name, d in decided.items():
            fg = grades.get(name)
            rule = spec.rule_for(name, fg.entity if fg is not None else None)
            if rule is not None and d.strategy.id in MARKABLE and not d.granted and not _is_path(name):
                marks.append((name, rule))
        if spec.pseudonyms == "per_org" and caller.org:
            self.pseudonyms = tuple(n for n, d in decided.items() if d.strategy.id == "hash" and not _is_path(n))
        if not marks and not self.pseudonyms:
            return
        self.material, self.version = keys.watermark_key(spec.key_id)
        if marks:
            self.marker = Marker(Prf(recipient_key(self.material, caller.org, caller.user)), marks)
        if self.pseudonyms and caller.org:
            self.tagger = Tagger(Prf(org_tag_key(self.material, caller.org)), self.pseudonyms)

    def keys_for(self, name: str, strategy: str) -> Any:
        """The keys a keyed strategy of ``name`` runs under: the org's own for per-org pseudonyms."""
        if name in self.pseudonyms and self.org:
            return _OrgKeys(self.keys, self.org)
        return self.keys

    def params(self) -> dict[str, Any] | None:
        """The ledger's ``watermark`` object (never values); None when nothing is marked."""
        if self.spec is None or (self.marker is None and not self.pseudonyms):
            return None
        out = (self.marker.params(self.spec.key_id, self.version) if self.marker is not None else
               {"method": METHOD, "key_id": self.spec.key_id, "version": self.version, "values": {}})
        out["pseudonyms"] = {name: {"per_org": True, "tag_hex": TAG_HEX} for name in self.pseudonyms}
        return out


def _is_path(name: str) -> bool:
    """A nested leaf path (``applicant.age``, ``items[].fee``): only top-level fields carry marks."""
    return "." in name or "[]" in name
