"""Which rules can possibly match an event: an index over the literal values rules require.

From pySigma's condition tree each rule gets an *anchor*: a set of atoms of which any matching
event satisfies at least one (``Image|endswith: \\cmd.exe`` gives "the lower-cased ``Image``
contains ``\\cmd.exe``"; ``EventID: 4688`` gives "``EventID`` is the number 4688"; an AND takes
its most selective operand's anchor, an OR the union of its operands'). An event is then tested
only against the rules one of whose atoms it satisfies, plus the rules without an anchor
(negations, regexes, keywords ...). Atoms are looked up per field: equalities in a dict,
substrings in one Aho–Corasick automaton (pyahocorasick) per field. The anchor is a superset
test only: the compiled predicate still decides, so the index can never lose a match.
"""

from __future__ import annotations

from collections.abc import Sequence
import re
import re._constants as sre_constants  # type: ignore[import-not-found]
import re._parser as sre_parse  # type: ignore[import-not-found]
from dataclasses import dataclass, field
from typing import Any

import ahocorasick
from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionOR,
    ConditionValueExpression,
)
from sigma.types import (
    SigmaCasedString,
    SigmaExpansion,
    SigmaNumber,
    SigmaRegularExpression,
    SigmaString,
    SigmaTimestampPart,
)

from soc.detection.compiler import RE_FLAGS as _RE_FLAGS, operands
from soc.detection.fields import MISSING, getter, scalar_values

# (kind, field, literal): "eq" lower-cased string equality, "num" number equality,
# "sub" lower-cased substring, "kw" lower-cased substring of any string value (field "").
Atom = tuple[str, str, Any]
_MAX_ATOMS = 4096  # an anchor wider than this filters too little to be worth its look-ups


def _string_atom(name: str, value: SigmaString) -> Atom | None:
    parts = list(value.iter_parts())
    if all(isinstance(p, str) for p in parts):
        return ("eq", name, "".join(parts).lower())  # type: ignore[arg-type]
    chunks, run = [], ""
    for p in parts:
        if isinstance(p, str):
            run += p
        else:
            chunks.append(run)
            run = ""
    chunks.append(run)
    best = max(chunks, key=len)
    # lower() of a cased non-ASCII literal need not be a substring of the lowered value
    # (final sigma), so cased matches are anchored on ASCII literals only.
    if not best or (isinstance(value, SigmaCasedString) and not best.isascii()):
        return None
    return ("sub", name, best.lower())


def regex_literal(pattern: str) -> str | None:
    """The longest literal run every match of ``pattern`` contains, lower-cased, or None.

    Read with Python's own regex parser (``re._parser``, the structure only; RE2 runs the
    pattern): only top-level literals count, as anything inside a group, a branch or a
    repetition may be skipped. Under ``(?i)`` a run is cut at ``s``, which RE2 also matches to
    ``ſ`` (U+017F) though ``str.lower`` leaves ``ſ`` alone; a case-sensitive run must be ASCII.
    """
    try:
        parsed = sre_parse.parse(pattern)
    except (re.error, RecursionError, OverflowError, ValueError):
        return None
    insensitive = bool(parsed.state.flags & re.IGNORECASE)
    runs, run = [], ""
    for op, arg in parsed:
        if op is sre_constants.LITERAL:
            run += chr(arg)
        else:
            runs.append(run)
            run = ""
    runs.append(run)
    if insensitive:
        runs = [piece for r in runs for piece in re.split("[sS]", r)]
    else:
        runs = [r for r in runs if r.isascii()]
    best = max(runs, key=len, default="")
    return best.lower() if len(best) >= 2 else None


def _leaf_atoms(node: ConditionFieldEqualsValueExpression) -> list[Atom] | None:
    values = node.value.values if isinstance(node.value, SigmaExpansion) else [node.value]
    out: list[Atom] = []
    for v in values:
        if isinstance(v, SigmaString) and type(v) in (SigmaString, SigmaCasedString):
            if v.contains_placeholder():
                return None
            atom = _string_atom(node.field, v)
        elif type(v) is SigmaNumber and not isinstance(v, SigmaTimestampPart):
            atom = ("num", node.field, v.number)
        elif type(v) is SigmaRegularExpression and not v.contains_placeholder():
            flags = "".join(sorted({_RE_FLAGS[f] for f in v.flags}))
            lit = regex_literal((f"(?{flags})" if flags else "") + str(v.regexp))
            atom = ("sub", node.field, lit) if lit else None
        else:
            atom = None
        if atom is None:
            return None
        out.append(atom)
    return out


def _keyword_atom(node: ConditionValueExpression) -> list[Atom] | None:
    """A keyword is searched in every string value: anchored on the whole event ("kw")."""
    v = node.value
    if (not isinstance(v, SigmaString) or type(v) not in (SigmaString, SigmaCasedString)
            or v.contains_placeholder()):
        return None
    atom = _string_atom("", v)
    if atom is None:
        return None
    return [("kw", "", atom[2])]


def _score(atoms: Sequence[Atom]) -> float:
    """Expected cost of candidates the anchor lets through: short substrings pass many events."""
    return sum(1.0 if kind in ("eq", "num") else 1.0 + 8.0 / len(lit) for kind, _, lit in atoms)


def anchor(node: Any) -> list[Atom] | None:
    """Atoms one of which every event matching ``node`` satisfies, or None."""
    if isinstance(node, ConditionFieldEqualsValueExpression):
        return _leaf_atoms(node)
    if isinstance(node, ConditionValueExpression):
        return _keyword_atom(node)
    if isinstance(node, ConditionAND):
        best: list[Atom] | None = None
        for arg in operands(node):
            a = anchor(arg)
            if a is not None and (best is None or _score(a) < _score(best)):
                best = a
        return best
    if isinstance(node, ConditionOR):
        out: list[Atom] = []
        for arg in operands(node):
            a = anchor(arg)
            if a is None:
                return None
            out.extend(a)
            if len(out) > _MAX_ATOMS:
                return None
        return out
    return None  # NOT, keywords: no positive requirement


def rule_anchor(parsed: list[Any]) -> list[Atom] | None:
    """The anchor of a rule from its condition trees (compiler.parsed_conditions)."""
    out: list[Atom] = []
    for tree in parsed:
        a = anchor(tree)
        if a is None:
            return None
        out.extend(a)
    return out if len(out) <= _MAX_ATOMS else None


@dataclass
class _FieldIndex:
    """The atoms of one field: rule positions by equal value, and the substring automaton."""

    eq: dict[Any, tuple[int, ...]] = field(default_factory=dict)
    num: dict[Any, tuple[int, ...]] = field(default_factory=dict)
    automaton: Any = None


def _build(atoms: dict[Any, set[int]]) -> dict[Any, tuple[int, ...]]:
    return {k: tuple(sorted(v)) for k, v in atoms.items()}


class RuleIndex:
    """Candidate rules for an event, as the ids the rules' anchors were given with."""

    def __init__(self, anchors: Sequence[tuple[int, list[Atom] | None]]) -> None:
        self.always = tuple(i for i, a in anchors if a is None)
        raw: dict[str, dict[str, dict[Any, set[int]]]] = {}
        for i, atoms in anchors:
            for kind, name, lit in atoms or ():
                raw.setdefault(name, {}).setdefault(kind, {}).setdefault(lit, set()).add(i)
        self._fields: list[tuple[str, Any, _FieldIndex]] = []
        keywords = raw.pop("", {}).get("kw")
        self._keywords: Any = None
        if keywords:
            self._keywords = ahocorasick.Automaton()
            for lit, rules in _build(keywords).items():
                self._keywords.add_word(lit, rules)
            self._keywords.make_automaton()
        for name, kinds in raw.items():
            fx = _FieldIndex(_build(kinds.get("eq", {})), _build(kinds.get("num", {})))
            if kinds.get("sub"):
                fx.automaton = ahocorasick.Automaton()
                for lit, rules in _build(kinds["sub"]).items():
                    fx.automaton.add_word(lit, rules)
                fx.automaton.make_automaton()
            self._fields.append((name, getter(name), fx))
        self._merged: dict[tuple[int, ...], tuple[int, ...]] = {}

    def candidates(self, event: dict[str, Any]) -> tuple[int, ...]:
        """Sorted ids of the rules that may match ``event``."""
        hits: list[tuple[int, ...]] = []
        for name, get, fx in self._fields:
            v = event.get(name, MISSING) if "." not in name else get(event)
            if v is MISSING:
                continue
            for item in (v if type(v) is list else (v,)):
                if type(item) is str:
                    lv = item.lower()
                    hit = fx.eq.get(lv)
                    if hit:
                        hits.append(hit)
                    if fx.automaton is not None:
                        hits.extend(rules for _, rules in fx.automaton.iter(lv))
                elif type(item) in (int, float):
                    hit = fx.num.get(item)
                    if hit:
                        hits.append(hit)
        if self._keywords is not None:
            kw = self._keywords
            for v in scalar_values(event):
                if type(v) is str:
                    hits.extend(rules for _, rules in kw.iter(v.lower()))
        if not hits:
            return self.always
        # The same few hit lists recur (one per action value of the exchange traffic), so the
        # merge is memoised on their identities in look-up order.
        key = tuple(map(id, hits))
        merged = self._merged.get(key)
        if merged is None:
            merged = tuple(sorted(set(self.always).union(*hits)))
            if len(self._merged) < 65536:
                self._merged[key] = merged
        return merged
