"""Compile a pySigma rule into one Python predicate over an event dict.

Walks pySigma's postprocessed condition tree (ConditionAND/OR/NOT with
ConditionFieldEqualsValueExpression / ConditionValueExpression leaves) and the typed values the
modifiers left on it (SigmaString with wildcards/placeholders, SigmaRegularExpression,
SigmaCIDRExpression, SigmaCompareExpression, SigmaExpansion, ...). Modifiers such as base64,
base64offset, utf16*, wide, windash, contains/startswith/endswith and all are already applied by
pySigma when the rule is parsed; only value *matching* is implemented here, because pySigma
ships backends that produce query text, not an in-process matcher.

Semantics (the SQL hunt in sqlbackend.py implements the same ones):
- strings match string values only, case-insensitively unless ``|cased``; ``*``/``?`` wildcards,
  ``\\`` escapes as pySigma parsed them;
- numbers, ``gt``/``gte``/``lt``/``lte`` match numeric (non-boolean) values only;
- ``re`` searches (unanchored) string values with its i/m/s flags;
- a list-valued field matches when any element matches;
- ``null`` matches an absent field or JSON null; ``exists`` is "present and not null";
- a keyword (field-less) value matches when any string or number anywhere in the event contains
  it (wildcards allowed), as full-text search does.
"""

from __future__ import annotations

import ipaddress
import operator
import re
from functools import lru_cache, reduce
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionNOT,
    ConditionOR,
    ConditionValueExpression,
)
from sigma.rule import SigmaRule
from sigma.types import (
    CompareOperators,
    Placeholder,
    SigmaBool,
    SigmaCasedString,
    SigmaCIDRExpression,
    SigmaCompareExpression,
    SigmaExists,
    SigmaExpansion,
    SigmaFieldReference,
    SigmaNull,
    SigmaNumber,
    SigmaRegularExpression,
    SigmaString,
    SigmaTimestampPart,
    SpecialChars,
)

from soc.detection.fields import MISSING, getter, scalar_values

Predicate = Callable[[dict[str, Any]], bool]
ValueTest = Callable[[Any], bool]
Placeholders = Mapping[str, Sequence[str]]


class UnsupportedConstruct(ValueError):
    """The rule uses something this evaluator cannot evaluate exactly; reported at load time."""


_COMPARE: dict[CompareOperators, Callable[[Any, Any], bool]] = {
    CompareOperators.LT: operator.lt,
    CompareOperators.LTE: operator.le,
    CompareOperators.GT: operator.gt,
    CompareOperators.GTE: operator.ge,
    CompareOperators.NEQ: operator.ne,
}


_NUMBER_TYPES = frozenset({int, float})


def is_number(value: Any) -> bool:
    """JSON numbers only: bool is not a number here (``rows: true`` must not equal 1)."""
    return type(value) in _NUMBER_TYPES


def _placeholder_values(p: Placeholder, placeholders: Placeholders | None) -> Iterator[SigmaString]:
    """Replacement values of one ``%name%`` stub, as pySigma's ValueListPlaceholderTransformation
    gives them to the SQL hunt (Sigma strings: wildcards in configured values stay wildcards).

    With ``placeholders=None`` (load-time check) the stub becomes empty so the rest of the rule
    is still validated.
    """
    if placeholders is None:
        yield SigmaString("")
        return
    if p.name not in placeholders:
        raise UnsupportedConstruct(f"placeholder %{p.name}% is not configured "
                                   "(soc.placeholders in the configuration)")
    yield from (SigmaString(str(v)) for v in placeholders[p.name])


def expand_placeholders(value: SigmaString, placeholders: Placeholders | None) -> list[SigmaString]:
    """Resolve the stubs the ``expand`` modifier left; several values become alternatives."""
    if not value.contains_placeholder():
        return [value]
    return value.replace_placeholders(lambda p: _placeholder_values(p, placeholders))


def string_test(value: SigmaString, *, keyword: bool = False) -> ValueTest:
    """Match test for one SigmaString (no placeholders left)."""
    cased = isinstance(value, SigmaCasedString)
    if keyword:  # full-text search: the keyword may appear anywhere in a value
        if not value.startswith(SpecialChars.WILDCARD_MULTI):
            value = SpecialChars.WILDCARD_MULTI + value
        if not value.endswith(SpecialChars.WILDCARD_MULTI):
            value = value + SpecialChars.WILDCARD_MULTI
    parts = list(value.iter_parts())
    if any(isinstance(p, Placeholder) for p in parts):  # pragma: no cover - expanded before
        raise UnsupportedConstruct("unresolved placeholder")
    fold: Callable[[str], str] = (lambda s: s) if cased else str.lower
    multi = SpecialChars.WILDCARD_MULTI
    literal_parts = [p for p in parts if isinstance(p, str)]
    lit = fold("".join(literal_parts))
    # Fast paths for the common shapes; everything else becomes an anchored regex.
    if all(isinstance(p, str) for p in parts):
        return lambda v: isinstance(v, str) and fold(v) == lit
    if len(parts) == 2 and parts[0] is multi and isinstance(parts[1], str):
        return lambda v: isinstance(v, str) and fold(v).endswith(lit)
    if len(parts) == 2 and parts[1] is multi and isinstance(parts[0], str):
        return lambda v: isinstance(v, str) and fold(v).startswith(lit)
    if len(parts) == 3 and parts[0] is multi and parts[2] is multi and isinstance(parts[1], str):
        return lambda v: isinstance(v, str) and lit in fold(v)
    if parts == [multi]:
        return lambda v: isinstance(v, str)
    pattern = "".join(
        re.escape(p) if isinstance(p, str) else (".*" if p is multi else ".") for p in parts
    )
    rx = re.compile(pattern, re.DOTALL | (0 if cased else re.IGNORECASE))
    return lambda v: isinstance(v, str) and rx.fullmatch(v) is not None


def regex_test(value: SigmaRegularExpression) -> ValueTest:
    flags = 0
    for flag in value.flags:
        flags |= SigmaRegularExpression.sigma_to_python_flags[flag]
    rx = re.compile(str(value.regexp), flags)
    return lambda v: isinstance(v, str) and rx.search(v) is not None


@lru_cache(maxsize=65536)
def parse_ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """Cached: the same client addresses recur in every event of a session."""
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def cidr_test(value: SigmaCIDRExpression) -> ValueTest:
    network = value.network

    def test(v: Any) -> bool:
        if type(v) is not str:
            return False
        addr = parse_ip(v)
        return addr is not None and addr.version == network.version and addr in network
    return test


def value_test(value: Any, placeholders: Placeholders | None, *, keyword: bool = False) -> ValueTest:
    """Test of one scalar event value against one typed Sigma value."""
    if isinstance(value, SigmaExpansion):
        tests = [value_test(v, placeholders, keyword=keyword) for v in value.values]
        return lambda v: any(t(v) for t in tests)
    if isinstance(value, SigmaString):
        tests = [string_test(s, keyword=keyword) for s in expand_placeholders(value, placeholders)]
        if len(tests) == 1:
            return tests[0]
        return lambda v: any(t(v) for t in tests)
    if isinstance(value, SigmaRegularExpression):
        if value.contains_placeholder():
            regexes = value.replace_placeholders(lambda p: _placeholder_values(p, placeholders))
            tests = [regex_test(r) for r in regexes]
            return lambda v: any(t(v) for t in tests)
        return regex_test(value)
    if isinstance(value, SigmaTimestampPart):
        raise UnsupportedConstruct("timestamp-part modifiers (minute/hour/day/week/month/year) "
                                   "are not supported: use the off_hours enrichment instead")
    if isinstance(value, SigmaBool):
        if keyword:
            raise UnsupportedConstruct("a boolean cannot be a keyword")
        b = value.boolean
        return lambda v: isinstance(v, bool) and v is b
    if isinstance(value, SigmaNumber):
        n = value.number
        if keyword:
            text = str(n)
            return lambda v: (isinstance(v, str) or is_number(v)) and text in str(v)
        return lambda v: type(v) in _NUMBER_TYPES and v == n
    if isinstance(value, SigmaCompareExpression):
        op, n = _COMPARE[value.op], value.number.number
        return lambda v: type(v) in _NUMBER_TYPES and op(v, n)
    if isinstance(value, SigmaCIDRExpression):
        if keyword:
            raise UnsupportedConstruct("a CIDR value needs a field")
        return cidr_test(value)
    raise UnsupportedConstruct(f"value type {type(value).__name__} is not supported")


def _any_value(name: str, test: ValueTest) -> Predicate:
    """Field test; a list value matches when any element does."""
    if "." not in name:  # the common case, without the getter call
        def top(event: dict[str, Any]) -> bool:
            v = event.get(name, MISSING)
            if type(v) is list:
                return any(map(test, v))
            return v is not MISSING and test(v)
        return top
    get = getter(name)

    def nested(event: dict[str, Any]) -> bool:
        v = get(event)
        if type(v) is list:
            return any(map(test, v))
        return v is not MISSING and test(v)
    return nested


def _plain_values(node: Any) -> tuple[str, frozenset[str]] | None:
    """(field, lower-cased values) when ``node`` is an OR of plain case-insensitive equalities
    on one field (``action: [export, download]``) -- evaluated as one set look-up."""
    leaves = node.args if isinstance(node, ConditionOR) else [node]
    field, values = None, set()
    for leaf in leaves:
        if not isinstance(leaf, ConditionFieldEqualsValueExpression):
            return None
        v = leaf.value
        if (type(v) is not SigmaString or v.contains_special() or v.contains_placeholder()
                or (field is not None and leaf.field != field)):
            return None
        field = leaf.field
        values.add(v.to_plain_regex().lower())
    return (field, frozenset(values)) if field is not None else None


def _fieldref(get: Callable[[dict[str, Any]], Any], ref: SigmaFieldReference) -> Predicate:
    other = getter(ref.field)

    def as_list(v: Any) -> list[Any]:
        if v is MISSING or v is None:
            return []
        return v if isinstance(v, list) else [v]

    def same(a: Any, b: Any) -> bool:
        if isinstance(a, str) and isinstance(b, str):
            a, b = a.lower(), b.lower()
            if ref.starts_with and ref.ends_with:
                return b in a
            if ref.starts_with:
                return a.startswith(b)
            if ref.ends_with:
                return a.endswith(b)
            return a == b
        if ref.starts_with or ref.ends_with:
            return False
        return type(a) is type(b) and a == b  # noqa: E721 - 1 must not equal True

    def pred(event: dict[str, Any]) -> bool:
        rights = as_list(other(event))
        return any(same(a, b) for a in as_list(get(event)) for b in rights)
    return pred


def compile_leaf_field(cond: ConditionFieldEqualsValueExpression,
                       placeholders: Placeholders | None) -> Predicate:
    get = getter(cond.field)
    plain = _plain_values(cond)
    if plain is not None:
        return _in_set(*plain)
    value = cond.value
    if isinstance(value, SigmaNull):
        if "." not in cond.field:
            name = cond.field
            return lambda e: e.get(name) is None
        return lambda e: get(e) in (MISSING, None)
    if isinstance(value, SigmaExists):
        want = bool(value.exists)
        if "." not in cond.field:
            name = cond.field
            return lambda e: (e.get(name) is not None) is want
        return lambda e: (get(e) not in (MISSING, None)) is want
    if isinstance(value, SigmaFieldReference):
        return _fieldref(get, value)
    return _any_value(cond.field, value_test(value, placeholders))


def compile_leaf_keyword(cond: ConditionValueExpression, placeholders: Placeholders | None) -> Predicate:
    test = value_test(cond.value, placeholders, keyword=True)

    def pred(event: dict[str, Any]) -> bool:
        return any(test(v) for v in scalar_values(event) if not isinstance(v, bool) and v is not None)
    return pred


def _in_set(field: str, values: frozenset[str]) -> Predicate:
    """The hottest leaf of a pack (``action: [export, download]``), as one closure."""
    def test(v: Any) -> bool:
        return type(v) is str and v.lower() in values
    if "." in field:
        return _any_value(field, test)

    def pred(event: dict[str, Any]) -> bool:
        v = event.get(field)
        if type(v) is str:
            return v.lower() in values
        if type(v) is list:
            return any(map(test, v))
        return False
    return pred


def _and(p0: Predicate, p1: Predicate) -> Predicate:
    return lambda e: p0(e) and p1(e)


def _or(p0: Predicate, p1: Predicate) -> Predicate:
    return lambda e: p0(e) or p1(e)


def _cost(node: Any) -> int:
    """Rough evaluation cost, to test cheap (and usually selective) conditions first."""
    if isinstance(node, ConditionFieldEqualsValueExpression):
        return 1 if type(node.value) is SigmaString and not node.value.contains_special() else 2
    if isinstance(node, ConditionValueExpression):
        return 50  # keyword search walks the whole event
    return 3 + sum(_cost(a) for a in getattr(node, "args", []))


def compile_condition(node: Any, placeholders: Placeholders | None) -> Predicate:
    """Recursively turn a pySigma condition tree into nested closures.

    AND/OR operands are pure, so they are reordered cheapest first; an OR of plain values on
    one field becomes a single set look-up.
    """
    if isinstance(node, ConditionOR):
        plain = _plain_values(node)
        if plain is not None:
            return _in_set(*plain)
    if isinstance(node, (ConditionAND, ConditionOR)):
        args = sorted(node.args, key=_cost)
        preds = [compile_condition(a, placeholders) for a in args]
        return reduce(_and if isinstance(node, ConditionAND) else _or, preds)
    if isinstance(node, ConditionNOT):
        inner = compile_condition(node.args[0], placeholders)
        return lambda e: not inner(e)
    if isinstance(node, ConditionFieldEqualsValueExpression):
        return compile_leaf_field(node, placeholders)
    if isinstance(node, ConditionValueExpression):
        return compile_leaf_keyword(node, placeholders)
    if node is None:
        raise UnsupportedConstruct("the condition is empty")
    raise UnsupportedConstruct(f"condition element {type(node).__name__} is not supported")


def compile_rule(rule: SigmaRule, placeholders: Placeholders | None = None) -> Predicate:
    """One predicate for the rule; several ``condition`` entries are OR-ed, as Sigma defines."""
    preds = [compile_condition(c.parsed, placeholders) for c in rule.detection.parsed_condition]
    if len(preds) == 1:
        return preds[0]
    return lambda e: any(p(e) for p in preds)
