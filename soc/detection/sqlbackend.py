"""pySigma-backend-sqlite, adapted to hunt JSON events stored as documents or columns.

The stock backend compares ``field = value`` on flat columns. Our events are arbitrary JSON
(nested objects, list-valued fields such as ``fields``), so this subclass keeps the backend's
value conversion (LIKE/GLOB/REGEXP/collation, NOT null-folding) and only changes *where the value
comes from*: every field condition becomes

    EXISTS (SELECT 1 FROM json_each(<doc or JSON column>, '$."a"."b"') WHERE <type guard> AND <backend expr on value>)

so a list matches when any element does (json_each of a scalar yields the scalar itself), and
plain columns of the pinned ``events`` table are used directly where they exist (no
JSON parsing). Type guards reproduce the streaming evaluator's typing (strings match strings,
numbers numbers). Keyword (field-less) search, which the stock backend rejects, walks
``json_tree(doc)``. CIDR uses a registered function because the backend's LIKE expansion of IPv6
prefixes is textual and misses non-canonical spellings.
"""

from __future__ import annotations

import ipaddress
import re
import sqlite3
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from sigma.backends.sqlite import sqliteBackend
from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionValueExpression,
)
from sigma.conversion.state import ConversionState
from sigma.exceptions import SigmaFeatureNotSupportedByBackendError
from sigma.types import (
    SigmaTimestampPart,
    SigmaBool,
    SigmaCIDRExpression,
    SigmaCompareExpression,
    SigmaExists,
    SigmaExpansion,
    SigmaFieldReference,
    SigmaNull,
    SigmaNumber,
    SigmaRegularExpression,
    SigmaString,
    SpecialChars,
)

from soc.detection.compiler import parse_ip
from soc.detection.fields import json_path
from soc.detection.regex import compile_regex

TEXT, NUMBER, BOOL = "text", "number", "bool"
_PLAIN_KEY = re.compile(r"[A-Za-z0-9_@-]+")
VALUE = "\x00json_each.value"  # stands for json_each's value column inside a wrapped condition


@dataclass(frozen=True)
class TableLayout:
    """Where fields live: plain columns (scalar), JSON columns, everything else in ``doc``."""

    table: str
    key_column: str
    doc_column: str = "doc"
    scalar_columns: frozenset[str] = field(default_factory=frozenset)
    json_columns: frozenset[str] = field(default_factory=frozenset)
    bool_columns: frozenset[str] = field(default_factory=frozenset)  # 0/1 columns of JSON booleans


def jsonl_layout(table: str) -> TableLayout:
    return TableLayout(table=table, key_column="line")


def store_layout() -> TableLayout:
    from soc.store.base import CONTRACT_COLUMNS, ENRICHMENT_COLUMNS, JSON_COLUMNS

    cols = set(CONTRACT_COLUMNS) | set(ENRICHMENT_COLUMNS) | {"event_id", "ts"}
    scalar = frozenset(c for c in cols if c not in JSON_COLUMNS)
    # off_hours is stored 0/1 for the boolean enrichment: only boolean values may match it
    return TableLayout(table="events", key_column="seq", scalar_columns=scalar,
                       json_columns=frozenset(JSON_COLUMNS),
                       bool_columns=frozenset({"off_hours"}))


def _kind(value: Any) -> str | None:
    if isinstance(value, SigmaTimestampPart):  # a part of an RFC 3339 string (strftime)
        return TEXT
    if isinstance(value, (SigmaString, SigmaRegularExpression, SigmaCIDRExpression)):
        return TEXT
    if isinstance(value, (SigmaNumber, SigmaCompareExpression)):
        return NUMBER
    if isinstance(value, SigmaBool):
        return BOOL
    return None


_JSON_GUARD = {TEXT: "type = 'text'", NUMBER: "type IN ('integer', 'real')",
               BOOL: "type IN ('true', 'false')"}
_COL_GUARD = {TEXT: "typeof({c}) = 'text'", NUMBER: "typeof({c}) IN ('integer', 'real')",
              BOOL: "0"}


class JsonHuntBackend(sqliteBackend):
    """sqliteBackend over a table of JSON documents (see module docstring)."""

    compare_op_expression = "{field} {operator} {value}"

    def __init__(self, layout: TableLayout, **options: Any) -> None:
        super().__init__(collate_nocase=True, table=layout.table, **options)
        self.layout = layout

    # -- where a field's values come from -------------------------------------------------------
    def _source(self, name: str) -> tuple[str, str | None]:
        """(SQL of a scalar column, None) or (json source expression, JSON path)."""
        lay = self.layout
        if name in lay.scalar_columns:
            return self.escape_and_quote_field(name), None
        head, _, rest = name.partition(".")
        if head in lay.json_columns:
            return self.escape_and_quote_field(head), json_path(rest) if rest else "$"
        return lay.doc_column, json_path(name)

    def _present(self, name: str) -> str:
        src, path = self._source(name)
        if path is None:
            return f"{src} IS NOT NULL"
        return f"COALESCE(json_type({src}, '{path}'), 'null') != 'null'"

    def _wrap(self, cond: ConditionFieldEqualsValueExpression, state: ConversionState) -> str:
        kind = _kind(cond.value)
        src, path = self._source(cond.field)
        if path is None:
            if cond.field in self.layout.bool_columns:
                if kind != BOOL:
                    return "0"
                guard = f"typeof({src}) = 'integer'"
            else:
                guard = _COL_GUARD[kind].format(c=src) if kind else "1"
            inner = super().convert_condition_field_eq_val(_with_field(cond, cond.field), state)
            return f"({guard} AND {inner})"
        inner = super().convert_condition_field_eq_val(_with_field(cond, VALUE), state)
        guard = _JSON_GUARD[kind] if kind else "1"
        exists = f"EXISTS (SELECT 1 FROM json_each({src}, '{path}') WHERE {guard} AND {inner})"
        key = cond.field.rsplit(".", 1)[-1]
        if src == self.layout.doc_column and _PLAIN_KEY.fullmatch(key):
            # The key must appear in the document's text: a byte search spares parsing the JSON
            # of most rows (a superset test -- it also hits values spelled like the key).
            return f"(instr({src}, '\"{key}\"') > 0 AND {exists})"
        return exists

    def convert_condition_and(self, cond: ConditionAND, state: ConversionState) -> Any:
        """SQLite evaluates AND operands in the order written: put cheap column tests first."""
        cond.args = sorted(cond.args, key=self._cost)
        return super().convert_condition_and(cond, state)

    def _cost(self, node: Any) -> int:
        if isinstance(node, ConditionFieldEqualsValueExpression):
            column = self._source(node.field)[1] is None
            plain = type(node.value) is SigmaString and not node.value.contains_special()
            return (0 if column else 10) + (0 if plain else 2)
        if isinstance(node, ConditionValueExpression):
            return 100
        return 5 + sum(self._cost(a) for a in getattr(node, "args", []) or [])

    def convert_condition_field_eq_val(self, cond: ConditionFieldEqualsValueExpression,
                                       state: ConversionState) -> Any:
        value = cond.value
        if isinstance(value, SigmaNull):
            return f"NOT ({self._present(cond.field)})"
        if isinstance(value, SigmaExists):
            present = self._present(cond.field)
            return f"({present})" if value.exists else f"NOT ({present})"
        if isinstance(value, SigmaFieldReference):
            return self._fieldref(cond.field, value)
        if isinstance(value, SigmaExpansion) or cond.field == VALUE:
            return super().convert_condition_field_eq_val(cond, state)
        return self._wrap(cond, state)

    def escape_and_quote_field(self, field_name: str) -> str:
        return "value" if field_name == VALUE else super().escape_and_quote_field(field_name)

    def _fieldref(self, name: str, ref: SigmaFieldReference) -> str:
        doc = self.layout.doc_column
        if ref.starts_with or ref.ends_with:
            pat = "REPLACE(REPLACE(REPLACE(b.value, '\\', '\\\\'), '%', '\\%'), '_', '\\_')"
            pre = "'%' || " if ref.ends_with else ""
            post = " || '%'" if ref.starts_with else ""
            test = f"a.type = 'text' AND b.type = 'text' AND a.value LIKE {pre}{pat}{post} ESCAPE '\\'"
        else:
            test = ("a.type = b.type AND a.type NOT IN ('null', 'object', 'array') AND "
                    "(a.type != 'text' AND a.value = b.value OR "
                    "a.type = 'text' AND a.value = b.value COLLATE NOCASE)")
        return (f"EXISTS (SELECT 1 FROM json_each({doc}, '{json_path(name)}') a, "
                f"json_each({doc}, '{json_path(ref.field)}') b WHERE {test})")

    # -- values the stock backend expands or rejects --------------------------------------------
    def convert_condition_field_eq_val_str(self, cond: Any, state: ConversionState) -> Any:
        _refuse_nul(cond.value)
        return super().convert_condition_field_eq_val_str(cond, state)

    def convert_condition_field_eq_val_str_case_sensitive(self, cond: Any, state: ConversionState) -> Any:
        _refuse_nul(cond.value)
        return super().convert_condition_field_eq_val_str_case_sensitive(cond, state)

    def convert_condition_field_eq_val_cidr(self, cond: Any, state: ConversionState) -> str:
        return f"sigma_cidr({self.escape_and_quote_field(cond.field)}, '{cond.value.network}')"

    def _keyword(self, cond: ConditionValueExpression, state: ConversionState, types: str) -> str:
        inner = super().convert_condition_field_eq_val(
            ConditionFieldEqualsValueExpression(VALUE, cond.value), state)
        return (f"EXISTS (SELECT 1 FROM json_tree({self.layout.doc_column}) "
                f"WHERE type IN ({types}) AND {inner})")

    def convert_condition_val_str(self, cond: ConditionValueExpression, state: ConversionState) -> str:
        value = cond.value
        assert isinstance(value, SigmaString)  # pySigma dispatches string keywords here
        if not value.startswith(SpecialChars.WILDCARD_MULTI):
            value = SpecialChars.WILDCARD_MULTI + value
        if not value.endswith(SpecialChars.WILDCARD_MULTI):
            value = value + SpecialChars.WILDCARD_MULTI
        return self._keyword(ConditionValueExpression(value), state, "'text'")

    def convert_condition_val_num(self, cond: ConditionValueExpression, state: ConversionState) -> str:
        assert isinstance(cond.value, SigmaNumber)  # pySigma dispatches number keywords here
        value = SigmaString("*") + str(cond.value.number) + SpecialChars.WILDCARD_MULTI
        return self._keyword(ConditionValueExpression(value), state,
                             "'text', 'integer', 'real'")

    def convert_condition_val_re(self, cond: ConditionValueExpression, state: ConversionState) -> str:
        return self._keyword(cond, state, "'text'")


def _refuse_nul(value: Any) -> None:
    """utf16*/wide values are full of U+0000, which SQLite's JSON functions and text literals
    cut off: such a rule is reported for this backend instead of silently never matching."""
    if any(isinstance(p, str) and "\x00" in p for p in value.iter_parts()):
        raise SigmaFeatureNotSupportedByBackendError(
            "values with NUL characters (utf16/utf16le/utf16be/wide) cannot be matched in SQLite, "
            "whose JSON text stops at U+0000; use the memory backend")


def _with_field(cond: ConditionFieldEqualsValueExpression, name: str) -> ConditionFieldEqualsValueExpression:
    copy = ConditionFieldEqualsValueExpression(name, cond.value)
    copy.parent = cond.parent
    return copy


@lru_cache(maxsize=1024)
@lru_cache(maxsize=256)
def _network(cidr: str) -> Any:
    return ipaddress.ip_network(cidr)


def _sql_regexp(pattern: str, value: Any) -> bool:
    return isinstance(value, str) and compile_regex(pattern).search(value) is not None


def _sql_cidr(value: Any, cidr: str) -> bool:
    if type(value) is not str:
        return False
    net = _network(cidr)
    addr = parse_ip(value)
    return addr is not None and addr.version == net.version and addr in net


def register_functions(conn: sqlite3.Connection) -> None:
    """REGEXP (used by the backend for ``|re``) and sigma_cidr, both deterministic."""
    conn.create_function("regexp", 2, _sql_regexp, deterministic=True)
    conn.create_function("sigma_cidr", 2, _sql_cidr, deterministic=True)
