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
from datetime import datetime, timezone
from functools import lru_cache
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, cast

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
    SigmaRegularExpressionFlag,
    SigmaString,
    SigmaTimestampPart,
    SpecialChars,
    TimestampPart,
)

from soc.detection.errors import UnsupportedConstruct
from soc.detection.fields import MISSING, getter, scalar_values
from soc.detection.regex import compile_regex
from soc.detection.strings import StringSet

Predicate = Callable[[dict[str, Any]], bool]
ValueTest = Callable[[Any], bool]
Placeholders = Mapping[str, Sequence[str]]


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
    return _string_set([value], keyword=keyword).test()


def _string_set(values: Sequence[SigmaString], *, keyword: bool = False) -> StringSet:
    out = StringSet()
    for value in values:
        if keyword:  # full-text search: the keyword may appear anywhere in a value
            if not value.startswith(SpecialChars.WILDCARD_MULTI):
                value = SpecialChars.WILDCARD_MULTI + value
            if not value.endswith(SpecialChars.WILDCARD_MULTI):
                value = value + SpecialChars.WILDCARD_MULTI
        out.add(value)
    return out


def regex_test(value: SigmaRegularExpression) -> ValueTest:
    """Unanchored search with the rule's i/m/s flags, in RE2 (see regex.py)."""
    flags = "".join(sorted({RE_FLAGS[f] for f in value.flags}))
    rx = compile_regex((f"(?{flags})" if flags else "") + str(value.regexp))
    return lambda v: isinstance(v, str) and rx.search(v) is not None


RE_FLAGS = {SigmaRegularExpressionFlag.IGNORECASE: "i", SigmaRegularExpressionFlag.MULTILINE: "m",
             SigmaRegularExpressionFlag.DOTALL: "s"}


@lru_cache(maxsize=65536)
def _utc_time(text: str) -> datetime | None:
    """An RFC 3339 time in UTC (no offset: read as UTC), as SQLite's strftime reads it."""
    try:
        dt = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return dt.astimezone(timezone.utc) if dt.tzinfo is not None else dt


_TIME_PARTS: dict[TimestampPart, Callable[[datetime], int]] = {
    TimestampPart.MINUTE: lambda d: d.minute,
    TimestampPart.HOUR: lambda d: d.hour,
    TimestampPart.DAY: lambda d: d.day,
    TimestampPart.WEEK: lambda d: int(d.strftime("%W")),  # SQLite's %W: Monday-based, 00-53
    TimestampPart.MONTH: lambda d: d.month,
    TimestampPart.YEAR: lambda d: d.year,
}


def timestamp_part_test(value: SigmaTimestampPart) -> ValueTest:
    """``ts|hour: 3``: the part of an RFC 3339 string value, in UTC, equals the number."""
    part, n = _TIME_PARTS[value.timestamp_part], value.number

    def test(v: Any) -> bool:
        if type(v) is not str:
            return False
        dt = _utc_time(v)
        return dt is not None and part(dt) == n
    return test


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
        if keyword:
            raise UnsupportedConstruct("a timestamp part needs a field")
        return timestamp_part_test(value)
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
    return _keyword_pred(value_test(cond.value, placeholders, keyword=True))


def _keyword_pred(test: ValueTest) -> Predicate:
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


def _all(preds: Sequence[Predicate]) -> Predicate:
    """n-ary AND as one closure: evaluation depth does not grow with the operand count."""
    if len(preds) == 1:
        return preds[0]
    if len(preds) == 2:
        p0, p1 = preds
        return lambda e: p0(e) and p1(e)
    ps = tuple(preds)

    def pred(event: dict[str, Any]) -> bool:
        for p in ps:
            if not p(event):
                return False
        return True
    return pred


def _any(preds: Sequence[Predicate]) -> Predicate:
    """n-ary OR as one closure (see _all)."""
    if len(preds) == 1:
        return preds[0]
    if len(preds) == 2:
        p0, p1 = preds
        return lambda e: p0(e) or p1(e)
    ps = tuple(preds)

    def pred(event: dict[str, Any]) -> bool:
        for p in ps:
            if p(event):
                return True
        return False
    return pred


def operands(node: ConditionAND | ConditionOR) -> list[Any]:
    """The operands of an AND/OR with nested same-kind groups flattened, without recursion:
    ``a or (b or (c or ...))`` is one n-ary OR."""
    kind = type(node)
    out: list[Any] = []
    stack = list(reversed(node.args))
    while stack:
        arg = stack.pop()
        if type(arg) is kind:
            stack.extend(reversed(arg.args))
        else:
            out.append(arg)
    return out


def _groupable(node: Any) -> bool:
    """A field leaf whose values can join the field's StringSet in an OR."""
    if not isinstance(node, ConditionFieldEqualsValueExpression):
        return False
    values = node.value.values if isinstance(node.value, SigmaExpansion) else [node.value]
    return all(type(v) in _STRINGS for v in values)


def _strings(node: ConditionFieldEqualsValueExpression) -> list[SigmaString]:
    """The string values of a leaf _groupable accepted."""
    values = node.value.values if isinstance(node.value, SigmaExpansion) else [node.value]
    return cast(list[SigmaString], values)


def _grouped_or(fields: dict[str, list[SigmaString]], placeholders: Placeholders | None) -> list[Predicate]:
    """One predicate per field for all its OR-ed string values (see strings.StringSet)."""
    out = []
    for name, values in fields.items():
        strings = _string_set([x for v in values for x in expand_placeholders(v, placeholders)])
        exact = strings.exact_only()
        out.append(_in_set(name, exact) if exact is not None else _any_value(name, strings.test()))
    return out


def _cost(node: Any) -> int:
    """Rough evaluation cost, to test cheap (and usually selective) conditions first."""
    if isinstance(node, ConditionFieldEqualsValueExpression):
        return 1 if type(node.value) is SigmaString and not node.value.contains_special() else 2
    if isinstance(node, (ConditionValueExpression, _Compiled)):
        return 50  # keyword search walks the whole event
    if isinstance(node, ConditionNOT):
        return 3 + _cost(node.args[0])
    return 3 + len(node.args) if hasattr(node, "args") else 3


class _Compiled:
    """An operand already compiled (the grouped keywords of an OR), costed like a keyword."""

    def __init__(self, pred: Predicate) -> None:
        self.pred = pred


_STRINGS = (SigmaString, SigmaCasedString)


def compile_condition(node: Any, placeholders: Placeholders | None) -> Predicate:
    """Turn a pySigma condition tree into closures: AND/OR are n-ary (same-kind nesting
    flattened), operands reordered cheapest first (they are pure), and the string values an OR
    tests on one field become one StringSet test.
    """
    if isinstance(node, (ConditionAND, ConditionOR)):
        args = operands(node)
        preds: list[Predicate] = []
        if isinstance(node, ConditionOR):
            fields: dict[str, list[SigmaString]] = {}
            keywords: list[SigmaString] = []
            rest = []
            for a in args:
                if _groupable(a):
                    fields.setdefault(a.field, []).extend(_strings(a))
                elif isinstance(a, ConditionValueExpression) and type(a.value) in _STRINGS:
                    keywords.append(cast(SigmaString, a.value))
                else:
                    rest.append(a)
            preds.extend(_grouped_or(fields, placeholders))
            if keywords:  # one walk over the event for all the keywords
                expanded = [x for v in keywords for x in expand_placeholders(v, placeholders)]
                rest.append(_Compiled(_keyword_pred(_string_set(expanded, keyword=True).test())))
            args = rest
        preds.extend(compile_condition(a, placeholders) for a in sorted(args, key=_cost))
        if isinstance(node, ConditionAND):
            return _all(preds)
        return _any(preds)
    if isinstance(node, _Compiled):
        return node.pred
    if isinstance(node, ConditionNOT):
        inner = compile_condition(node.args[0], placeholders)
        return lambda e: not inner(e)
    if isinstance(node, ConditionFieldEqualsValueExpression):
        if _groupable(node):
            (pred,) = _grouped_or({node.field: _strings(node)}, placeholders)
            return pred
        return compile_leaf_field(node, placeholders)
    if isinstance(node, ConditionValueExpression):
        return compile_leaf_keyword(node, placeholders)
    if node is None:
        raise UnsupportedConstruct("the condition is empty")
    raise UnsupportedConstruct(f"condition element {type(node).__name__} is not supported")


def parsed_conditions(rule: SigmaRule) -> list[Any]:
    """The rule's condition trees (pySigma re-parses on every ``.parsed``: call this once)."""
    try:
        return [c.parsed for c in rule.detection.parsed_condition]
    except RecursionError:
        raise UnsupportedConstruct("condition nested too deeply to parse") from None


def condition_fields(trees: list[Any]) -> frozenset[str] | None:
    """The event fields a rule's predicate reads (names as the rule writes them), or None when
    it may read others: a keyword searches every value, a field reference a second field."""
    out: set[str] = set()
    stack = list(trees)
    while stack:
        node = stack.pop()
        if isinstance(node, (ConditionAND, ConditionOR, ConditionNOT)):
            stack.extend(node.args)
        elif (isinstance(node, ConditionFieldEqualsValueExpression)
              and not isinstance(node.value, SigmaFieldReference)):
            out.add(node.field)
        else:
            return None
    return frozenset(out)


def compile_rule(rule: SigmaRule, placeholders: Placeholders | None = None,
                 parsed: list[Any] | None = None) -> Predicate:
    """One predicate for the rule; several ``condition`` entries are OR-ed, as Sigma defines."""
    trees = parsed if parsed is not None else parsed_conditions(rule)
    try:
        return _any([compile_condition(tree, placeholders) for tree in trees])
    except RecursionError:
        raise UnsupportedConstruct("condition nested too deeply to evaluate") from None
