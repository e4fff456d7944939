"""Sigma rules → Elasticsearch candidate queries (pySigma-backend-elasticsearch, ``dsl_lucene``).

The query only has to find a SUPERSET of the matching events: every hit is then checked by the
same compiled predicate the memory hunt uses (compiler.py), so ES can never give a wrong answer,
only a slower one. Each leaf of the condition is therefore sent to ES as it is where the Lucene
form means exactly what Sigma means on our mapping (soc/store/es/mapping.py), and broadened
where it does not:

- exact: strings on normalised keyword fields (``=``/wildcards, case-insensitive as Sigma),
  numbers and comparisons on ``long`` fields, booleans, null/exists on scalar fields;
- broadened (``_exists_:field`` when the leaf is positive, "match all"/"match none" by the
  polarity of the enclosing NOTs): ``re`` (Lucene regex has no ``(?i)``, anchors or look-around),
  ``|cased`` under a NOT, field references, keyword (field-less) search, numbers or compares on
  keyword fields, anything under ``extra.*`` (``flattened`` is case-sensitive) and fields the
  mapping does not index;
- ``src_ip``: string tests go to ``src_ip.text`` (a keyword), CIDR to the ``ip`` field plus the
  values that are not addresses at all (the contract does not require one).
"""

from __future__ import annotations

from typing import Any

from sigma.backends.elasticsearch import LuceneBackend
from sigma.conditions import (
    ConditionFieldEqualsValueExpression,
    ConditionNOT,
    ConditionOR,
    ConditionValueExpression,
)
from sigma.conversion.state import ConversionState
from sigma.processing.pipeline import ProcessingItem, ProcessingPipeline
from sigma.processing.transformations import ValueListPlaceholderTransformation
from sigma.rule import SigmaRule
from sigma.types import (
    SigmaBool,
    SigmaCasedString,
    SigmaCIDRExpression,
    SigmaCompareExpression,
    SigmaExists,
    SigmaExpansion,
    SigmaNull,
    SigmaNumber,
    SigmaString,
)

from soc.store.es.mapping import FIELD_TYPES

MATCH_ALL = "*:*"
MATCH_NONE = "(NOT *:*)"
_ARRAY_FIELDS = frozenset({"fields", "sensitive_fields", "categories"})


def _positive(cond: Any) -> bool:
    """True when an even number of NOTs encloses the leaf."""
    negations = 0
    node = cond.parent
    while node is not None:
        if isinstance(node, ConditionNOT):
            negations += 1
        node = getattr(node, "parent", None)
    return negations % 2 == 0


def _reparented(cond: ConditionFieldEqualsValueExpression, field: str, value: Any = None) -> ConditionFieldEqualsValueExpression:
    new = ConditionFieldEqualsValueExpression(field, cond.value if value is None else value)
    new.parent = cond.parent
    return new


class ShuweiLuceneBackend(LuceneBackend):
    """Lucene queries over Shuwei's audit-event mapping, widened wherever Lucene would differ."""

    def _broad(self, cond: Any, field: str | None) -> str:
        if not _positive(cond):
            return MATCH_NONE
        if field is not None and (field in FIELD_TYPES or field.startswith("extra.")):
            es_field = "src_ip.text" if field == "src_ip" else field
            return f"_exists_:{self.escape_and_quote_field(es_field)}"
        return MATCH_ALL

    def convert_condition_field_eq_val(self, cond: ConditionFieldEqualsValueExpression,
                                       state: ConversionState) -> Any:
        field, value = cond.field, cond.value
        if isinstance(value, SigmaExpansion):
            return self._expansion(cond, state)
        kind = FIELD_TYPES.get(field)
        positive = _positive(cond)
        if isinstance(value, (SigmaNull, SigmaExists)):
            if kind is None and not field.startswith("extra."):
                return self._broad(cond, None)
            exact = kind is not None and field not in _ARRAY_FIELDS
            # ES "exists" misses [] / {} / malformed values that Sigma counts as present.
            es_exists_narrower = not exact
            wants_exists = isinstance(value, SigmaExists) and bool(value.exists)
            leaf_narrower = es_exists_narrower and wants_exists
            leaf_wider = es_exists_narrower and not wants_exists
            if exact or (positive and leaf_wider) or (not positive and leaf_narrower):
                target = "src_ip.text" if field == "src_ip" else field
                return super().convert_condition_field_eq_val(_reparented(cond, target), state)
            return MATCH_ALL if positive else MATCH_NONE
        if kind == "keyword" or kind == "ip":
            target = "src_ip.text" if kind == "ip" else field
            if isinstance(value, SigmaCasedString):
                if not positive:
                    return MATCH_NONE
                plain = SigmaString(value.original)  # the normalised field ignores case:
                plain.s = value.s                     # a superset of the cased match
                return super().convert_condition_field_eq_val(_reparented(cond, target, plain), state)
            if type(value) is SigmaString:
                return super().convert_condition_field_eq_val(_reparented(cond, target), state)
            if kind == "ip" and isinstance(value, SigmaCIDRExpression):
                if not positive:
                    return MATCH_NONE
                cidr = super().convert_condition_field_eq_val(cond, state)
                return f"({cidr} OR (_exists_:src_ip.text AND NOT _exists_:src_ip))"
        if kind == "long" and isinstance(value, (SigmaNumber, SigmaCompareExpression)) \
                and not isinstance(value, SigmaBool):
            return super().convert_condition_field_eq_val(cond, state)
        if kind == "boolean" and isinstance(value, SigmaBool):
            return super().convert_condition_field_eq_val(cond, state)
        return self._broad(cond, field)

    def _expansion(self, cond: ConditionFieldEqualsValueExpression, state: ConversionState) -> Any:
        """``expand``/placeholder values: an OR of the single values, each judged on its own."""
        expansion = cond.value
        assert isinstance(expansion, SigmaExpansion)  # the caller dispatches expansions here
        args = [ConditionFieldEqualsValueExpression(cond.field, v) for v in expansion.values]
        or_cond = ConditionOR(list(args), cond.source)
        or_cond.parent = cond.parent
        for arg in args:
            arg.parent = or_cond
        return self.group_expression.format(expr=self.convert_condition(or_cond, state))

    def decide_convert_condition_as_in_expression(self, cond: Any, state: ConversionState) -> bool:
        """``field:(a OR b)`` only for plain strings on a keyword field (the exact case above)."""
        if not super().decide_convert_condition_as_in_expression(cond, state):
            return False
        return all(FIELD_TYPES.get(a.field) == "keyword" and type(a.value) is SigmaString for a in cond.args)

    def convert_condition_field_eq_field(self, cond: Any, state: ConversionState) -> Any:
        return self._broad(cond, cond.field)

    def convert_condition_val(self, cond: ConditionValueExpression, state: ConversionState) -> Any:
        """Keyword search: numbers, flattened ``extra`` and case make Lucene's form inexact."""
        return MATCH_ALL if _positive(cond) else MATCH_NONE


def es_pipeline(placeholders: dict[str, list[str]] | None) -> ProcessingPipeline:
    """Shuwei's field names are the index's field names; only placeholders need resolving."""
    return ProcessingPipeline(
        name="shuwei audit events (elasticsearch)", vars=dict(placeholders or {}),
        items=[ProcessingItem(ValueListPlaceholderTransformation(), identifier="shuwei_placeholders")])


def candidate_queries(rule: SigmaRule, placeholders: dict[str, list[str]] | None = None) -> list[dict[str, Any]]:
    """One ES query per ``condition`` of the rule (dsl_lucene), each a superset of its matches."""
    backend = ShuweiLuceneBackend(processing_pipeline=es_pipeline(placeholders))
    out = []
    for dsl in backend.convert_rule(rule, "dsl_lucene"):
        qs = dsl["query"]["bool"]["must"][0]["query_string"]
        qs["lenient"] = True  # a string against a numeric field is "no match", not an error
        out.append(dsl["query"])
    return out
