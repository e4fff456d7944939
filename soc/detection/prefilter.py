"""Literal prefilter: which rules can possibly match an event, looked up by its ``action``.

Reads from pySigma's condition tree the set of ``action`` values a rule provably requires (the
same reasoning pySigma-backend-sqlite uses for Zircolite's channel/event-id allow-list). Rules
without such a bound are tried on every event. The bound is a superset test only: the compiled
predicate still decides, so a wrong-case or cased value can never be missed.
"""

from __future__ import annotations

from typing import Any

from sigma.conditions import ConditionAND, ConditionFieldEqualsValueExpression, ConditionOR
from sigma.rule import SigmaRule
from sigma.types import SigmaExpansion, SigmaString

INDEX_FIELD = "action"


def _bound(node: Any) -> set[str] | None:
    if isinstance(node, ConditionFieldEqualsValueExpression):
        if node.field != INDEX_FIELD:
            return None
        values = node.value.values if isinstance(node.value, SigmaExpansion) else [node.value]
        out: set[str] = set()
        for v in values:
            if not isinstance(v, SigmaString) or v.contains_special() or v.contains_placeholder():
                return None
            out.add(str(v.to_plain_regex()).lower())
        return out
    if isinstance(node, ConditionAND):
        bounds = [b for b in (_bound(a) for a in node.args) if b is not None]
        return set.intersection(*bounds) if bounds else None
    if isinstance(node, ConditionOR):
        maybe = [_bound(a) for a in node.args]
        if any(b is None for b in maybe):
            return None
        return set().union(*(b for b in maybe if b is not None))
    return None  # NOT, keywords: no positive requirement


def action_bound(rule: SigmaRule) -> set[str] | None:
    """Lower-cased ``action`` values the rule requires, or None when it is not bounded."""
    maybe = [_bound(c.parsed) for c in rule.detection.parsed_condition]
    if any(b is None for b in maybe):
        return None
    return set().union(*(b for b in maybe if b is not None))
