"""The masking policy (``policies/masking.yaml``): consumer roles, default masks, rules and
share approvals (授权) — validated on load, every error naming file, line and rule.

Decision for one field, first that applies:
1. grade below L3 and no rule matches → ``keep``;
2. an approval (``approvals:`` of the policy, or ``crypto.approvals_file``) valid for the
   dataset, caller and date that lists the field → ``keep`` (granted in clear);
3. the first rule, in file order, whose ``match`` fits (dataset, field, entity, grade, category,
   role, purpose) → its strategy — but a rule never grants an L3+ field in clear to a role that
   the ``roles:`` section does not know;
4. L3+ with nothing granting it → default-deny: the entity's mask from ``masks:``, else the
   grade's mask from ``grade_masks:``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from classifier.errors import validation_error
from classifier.policy import ENTITY_IDS, GRADES
from crypto.errors import PolicyError
from crypto.paths import field_matches
from crypto.share.watermark import WatermarkSpec
from crypto.strategies import STRATEGIES, KeyServices, Masker, Params
from crypto.yamlmarks import Located, load

SENSITIVE = ("L3", "L4")
MATCH_KEYS = ("roles", "purposes", "entities", "grades", "categories", "datasets", "fields")


@dataclass(frozen=True)
class StrategySpec:
    id: str
    params: Params

    @property
    def keyed(self) -> bool:
        return STRATEGIES[self.id].keyed

    @property
    def repeatable(self) -> bool:
        """The same value always gets the same form (encrypt only with ``deterministic: true``)."""
        return STRATEGIES[self.id].repeatable or getattr(self.params, "deterministic", False) is True

    def build(self, entity: str | None, dataset: str, field: str, keys: KeyServices | None) -> Masker:
        return STRATEGIES[self.id].build(self.params, entity, dataset, field, keys)


KEEP = StrategySpec("keep", STRATEGIES["keep"].Params())
# Free text with identifiers inside: each span gets its own entity's decision (crypto.textmask).
MASK_SPANS = StrategySpec("mask_spans", STRATEGIES["keep"].Params())


@dataclass(frozen=True)
class Rule:
    id: str
    line: int
    match: dict[str, frozenset[str]]
    strategy: StrategySpec

    def matches(self, dataset: str, field: str, entity: str | None, grade: str,
                category: str | None, role: str, purpose: str | None) -> bool:
        facts = {"roles": role, "purposes": purpose, "entities": entity, "grades": grade,
                 "categories": category, "datasets": dataset, "fields": field}
        return all(field_matches(field, allowed) if k == "fields" else facts[k] in allowed
                   for k, allowed in self.match.items())


@dataclass(frozen=True)
class Approval:
    id: str
    line: int
    fields: frozenset[str]
    datasets: frozenset[str] | None
    roles: frozenset[str] | None
    users: frozenset[str] | None
    purposes: frozenset[str] | None
    expires: date | None
    orgs: frozenset[str] | None = None  # stored approvals (crypto.share) name the consumer org

    def refusal(self, dataset: str, role: str, user: str, purpose: str | None, today: date,
                org: str | None = None) -> str | None:
        """Why this approval does not apply to the call, or ``None`` when it does."""
        if self.expires and today > self.expires:
            return f"expired {self.expires.isoformat()}"
        for name, allowed, value in (("dataset", self.datasets, dataset), ("role", self.roles, role),
                                     ("user", self.users, user), ("purpose", self.purposes, purpose),
                                     ("org", self.orgs, org)):
            if allowed is not None and value not in allowed:
                return f"not issued for this {name}"
        return None


@dataclass(frozen=True)
class Decision:
    strategy: StrategySpec
    reason: str
    granted: bool  # an L3+ field released in clear
    below_l3: bool = False  # kept only because no rule matched a field below L3


class MaskingPolicy:
    def __init__(self, file: str, roles: dict[str, str], masks: dict[str, StrategySpec],
                 grade_masks: dict[str, StrategySpec], rules: list[Rule],
                 approvals: dict[str, Approval], k: int, qi_fields: frozenset[str],
                 qi_entities: frozenset[str], watermark: WatermarkSpec | None = None) -> None:
        self.file, self.roles, self.masks, self.grade_masks = file, roles, masks, grade_masks
        self.rules, self.approvals = rules, approvals
        self.watermark = watermark  # None: releases carry no watermark
        self.k, self.qi_fields, self.qi_entities = k, qi_fields, qi_entities

    # -- loading -----------------------------------------------------------------------------
    @classmethod
    def load(cls, path: Path, approvals_path: Path | None = None) -> MaskingPolicy:
        doc = _read(path)
        f = str(path)
        roles = _roles(doc.get("roles"), f, doc.line_of("roles"))
        masks_node = _mapping(doc.get("masks", Located()), f, doc.line_of("masks"), "masks")
        masks = {}
        for entity, spec in masks_node.items():
            line = masks_node.line_of(entity)
            if entity not in ENTITY_IDS:
                raise PolicyError(f"masks: unknown entity '{entity}'", file=f, line=line)
            masks[entity] = _strategy(spec, f, line, f"masks.{entity}", deny=True)
        gm_node = _mapping(doc.get("grade_masks"), f, doc.line_of("grade_masks"), "grade_masks")
        grade_masks = {}
        for grade in SENSITIVE:
            if grade not in gm_node:
                raise PolicyError(f"grade_masks must give a mask for {grade} (default-deny)",
                                  file=f, line=gm_node.line)
        for grade, spec in gm_node.items():
            if grade not in GRADES:
                raise PolicyError(f"grade_masks: unknown grade '{grade}'", file=f, line=gm_node.line_of(grade))
            grade_masks[grade] = _strategy(spec, f, gm_node.line_of(grade), f"grade_masks.{grade}", deny=True)
        rules = _rules(doc.get("rules") or [], f, doc.line_of("rules"), roles)
        approvals = _approvals(doc.get("approvals") or [], f, doc.line_of("approvals"))
        if approvals_path is not None:
            extra = _read(approvals_path)
            more = _approvals(extra.get("approvals") or [], str(approvals_path), extra.line_of("approvals"))
            for key, approval in more.items():
                if key in approvals:
                    raise PolicyError(f"approval '{key}' is also defined in {f}",
                                      file=str(approvals_path), line=approval.line)
            approvals.update(more)
        static = _mapping(doc.get("static", Located()), f, doc.line_of("static"), "static")
        k = static.get("k_anonymity", 1)
        if not isinstance(k, int) or isinstance(k, bool) or k < 1:
            raise PolicyError("static.k_anonymity must be an integer >= 1", file=f, line=static.line_of("k_anonymity"))
        qi = _mapping(static.get("quasi_identifiers", Located()), f, static.line_of("quasi_identifiers"),
                      "static.quasi_identifiers")
        qi_fields = _names(qi.get("fields"), f, qi.line_of("fields"), "quasi_identifiers.fields")
        qi_entities = _names(qi.get("entities"), f, qi.line_of("entities"), "quasi_identifiers.entities")
        for e in qi_entities or ():
            if e not in ENTITY_IDS:
                raise PolicyError(f"quasi_identifiers: unknown entity '{e}'", file=f, line=qi.line_of("entities"))
        return cls(f, roles, masks, grade_masks, rules, approvals, k,
                   qi_fields or frozenset(), qi_entities or frozenset(),
                   _watermark(doc.get("watermark"), f, doc.line_of("watermark")))

    # -- deciding ----------------------------------------------------------------------------
    def approval_status(self, approval_id: str | None, dataset: str, role: str, user: str,
                        purpose: str | None, today: date, *, org: str | None = None,
                        stored: Approval | str | None = None) -> tuple[Approval | None, str | None]:
        """(the approval if it applies, else None; a note for the decision reasons). ``stored`` is
        what the share store says of an id the policy files do not define (crypto.share.approvals.grant)."""
        if not approval_id:
            return None, None
        approval = self.approvals.get(approval_id)
        if approval is None:
            if isinstance(stored, str):
                return None, f"approval {approval_id} {stored}"
            approval = stored
        if approval is None:
            return None, f"approval {approval_id} unknown"
        if role not in self.roles:
            return None, f"approval {approval_id} ignored for unknown role"
        why = approval.refusal(dataset, role, user, purpose, today, org)
        if why:
            return None, f"approval {approval_id} {why}"
        return approval, None

    def decide(self, dataset: str, field: str, entity: str | None, grade: str, category: str | None,
               role: str, purpose: str | None, approval: Approval | None,
               approval_note: str | None = None, *, text: bool = False) -> Decision:
        """``text``: the field is free text with identifiers inside; default-deny masks its spans."""
        sensitive = grade in SENSITIVE
        label = grade + (f" {entity}" if entity else "")
        known = role in self.roles
        if sensitive and approval is not None and field_matches(field, approval.fields):
            return Decision(KEEP, f"{label}, approval {approval.id} grants it in clear", True)
        for rule in self.rules:
            if rule.matches(dataset, field, entity, grade, category, role, purpose):
                if rule.strategy.id == "keep" and sensitive and not known:
                    continue
                return Decision(rule.strategy, f"{label}, role {role}, rule {rule.id}",
                                sensitive and rule.strategy.id == "keep")
        if not sensitive:
            return Decision(KEEP, f"{label}, below L3", False, True)
        who = f"role {role}" if known else f"unknown role '{role}' gets no grant"
        note = f"; {approval_note}" if approval_note else ""
        if text and entity is None:
            return Decision(MASK_SPANS, f"{label} text, {who}, no granting rule (default-deny): "
                            f"sensitive spans masked in place{note}", False)
        spec = self.masks.get(entity or "") or self.grade_masks[grade]
        return Decision(spec, f"{label}, {who}, no granting rule (default-deny){note}", False)


# -- validation helpers ----------------------------------------------------------------------
def _read(path: Path) -> Located:
    try:
        doc = load(path)
    except OSError as exc:
        raise PolicyError(f"cannot read policy: {exc.strerror}", file=str(path)) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise PolicyError(f"invalid YAML: {getattr(exc, 'problem', None) or exc}", file=str(path),
                          line=mark.line + 1 if mark else None) from None
    if not isinstance(doc, Located):
        raise PolicyError("a masking policy must be a mapping", file=str(path), line=1)
    return doc


def _mapping(node: Any, f: str, line: int, what: str) -> Located:
    if not isinstance(node, Located):
        raise PolicyError(f"{what} must be a mapping", file=f, line=line)
    return node


def _names(node: Any, f: str, line: int, what: str) -> frozenset[str] | None:
    if node is None:
        return None
    if isinstance(node, str):
        node = [node]
    if not isinstance(node, list) or not all(isinstance(x, (str, int)) for x in node):
        raise PolicyError(f"{what} must be a list of names", file=f, line=line)
    return frozenset(str(x) for x in node)


def _roles(node: Any, f: str, line: int) -> dict[str, str]:
    node = _mapping(node, f, line, "roles (the exchange platform's consumer roles)")
    out = {}
    for name, body in node.items():
        desc = body.get("description", "") if isinstance(body, dict) else (body or "")
        out[str(name)] = str(desc)
    return out


def _strategy(node: Any, f: str, line: int, rule: str, *, deny: bool = False,
              params_node: Any = None) -> StrategySpec:
    """``{strategy: id, params: {...}}`` (or just the id) → a validated StrategySpec."""
    sid: Any
    if isinstance(node, str):
        sid, params = node, params_node or {}
    elif isinstance(node, Located):
        sid, params = node.get("strategy"), node.get("params") or {}
        line = node.line_of("strategy")
    else:
        raise PolicyError("expected a strategy id or {strategy: id, params: {...}}", file=f, line=line, rule=rule)
    if sid not in STRATEGIES:
        raise PolicyError(f"unknown strategy '{sid}' (known: {', '.join(sorted(STRATEGIES))})",
                          file=f, line=line, rule=rule)
    if deny and sid == "keep":
        raise PolicyError("a default-deny mask cannot be 'keep'", file=f, line=line, rule=rule)
    if not isinstance(params, dict):
        raise PolicyError("params must be a mapping", file=f, line=line, rule=rule)
    try:
        model = STRATEGIES[sid].Params.model_validate(dict(params))
    except ValidationError as exc:
        field, msg = validation_error(exc)
        loc = exc.errors()[0]["loc"]
        pline = params.line_of(loc[0]) if isinstance(params, Located) and loc else line
        raise PolicyError(f"strategy {sid}: parameter '{field or 'params'}': {msg}", file=f, line=pline,
                          rule=rule) from None
    return StrategySpec(sid, model)


def _rules(node: Any, f: str, line: int, roles: dict[str, str]) -> list[Rule]:
    if not isinstance(node, list):
        raise PolicyError("rules must be a list", file=f, line=line)
    out, seen = [], set()
    for item in node:
        if not isinstance(item, Located):
            raise PolicyError("each rule must be a mapping with id, match and strategy", file=f, line=line)
        rid = item.get("id")
        if not isinstance(rid, str) or not rid:
            raise PolicyError("rule without an id", file=f, line=item.line)
        if rid in seen:
            raise PolicyError("duplicate rule id", file=f, line=item.line, rule=rid)
        seen.add(rid)
        unknown = set(item) - {"id", "description", "match", "strategy", "params"}
        if unknown:
            raise PolicyError(f"unknown key '{sorted(unknown)[0]}'", file=f,
                              line=item.line_of(sorted(unknown)[0]), rule=rid)
        match_node = _mapping(item.get("match", Located()), f, item.line_of("match"), "match")
        match = {}
        for key, value in match_node.items():
            kline = match_node.line_of(key)
            if key not in MATCH_KEYS:
                raise PolicyError(f"unknown match key '{key}' (use {', '.join(MATCH_KEYS)})",
                                  file=f, line=kline, rule=rid)
            names = _names(value, f, kline, f"match.{key}") or frozenset()
            bad = {"roles": names - set(roles), "entities": names - set(ENTITY_IDS),
                   "grades": names - set(GRADES)}.get(key)
            if bad:
                raise PolicyError(f"match.{key}: unknown {key[:-1] if key != 'entities' else 'entity'} "
                                  f"'{sorted(bad)[0]}'", file=f, line=kline, rule=rid)
            match[key] = names
        if "strategy" not in item:
            raise PolicyError("rule has no strategy", file=f, line=item.line, rule=rid)
        spec = _strategy(item["strategy"], f, item.line_of("strategy"), rid, params_node=item.get("params"))
        out.append(Rule(rid, item.line, match, spec))
    return out


def _watermark(node: Any, f: str, line: int) -> WatermarkSpec | None:
    """The ``watermark:`` section (docs/design/watermark.md); absent → no watermark."""
    if node is None:
        return None
    node = _mapping(node, f, line, "watermark")
    try:
        spec = WatermarkSpec.model_validate(dict(node))
    except ValidationError as exc:
        field, msg = validation_error(exc)
        loc = exc.errors()[0]["loc"]
        raise PolicyError(f"watermark: '{field or 'watermark'}': {msg}", file=f,
                          line=node.line_of(loc[0]) if loc else line) from None
    for rule in spec.values:
        bad = sorted(rule.entities - set(ENTITY_IDS))
        if bad:
            raise PolicyError(f"watermark.values: unknown entity '{bad[0]}'", file=f, line=node.line_of("values"))
        if not rule.fields and not rule.entities:
            raise PolicyError("watermark.values: each entry names fields or entities", file=f,
                              line=node.line_of("values"))
    return spec


def _approvals(node: Any, f: str, line: int) -> dict[str, Approval]:
    if not isinstance(node, list):
        raise PolicyError("approvals must be a list", file=f, line=line)
    out: dict[str, Approval] = {}
    for item in node:
        if not isinstance(item, Located) or not isinstance(item.get("id"), str):
            raise PolicyError("each approval needs an id", file=f, line=getattr(item, "line", line))
        aid = item["id"]
        if aid in out:
            raise PolicyError("duplicate approval id", file=f, line=item.line, rule=aid)
        unknown = set(item) - {"id", "description", "fields", "datasets", "roles", "users", "purposes", "expires"}
        if unknown:
            key = sorted(unknown)[0]
            raise PolicyError(f"unknown key '{key}'", file=f, line=item.line_of(key), rule=aid)
        fields = _names(item.get("fields"), f, item.line_of("fields"), "fields")
        if not fields:
            raise PolicyError("an approval must list the fields it grants in clear", file=f,
                              line=item.line, rule=aid)
        expires = item.get("expires")
        if expires is not None and not isinstance(expires, date):
            raise PolicyError("expires must be a date (YYYY-MM-DD)", file=f, line=item.line_of("expires"), rule=aid)
        datasets, roles, users, purposes = (_names(item.get(k), f, item.line_of(k), k)
                                            for k in ("datasets", "roles", "users", "purposes"))
        out[aid] = Approval(aid, item.line, fields, datasets, roles, users, purposes, expires)
    return out
