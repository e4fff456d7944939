"""Which rules can possibly match an event: an index over the literal values rules require.

From pySigma's condition tree each rule gets an *anchor*: clauses of atoms such that any matching
event satisfies at least one atom of every clause (``Image|endswith: \\cmd.exe`` gives "the
lower-cased ``Image`` contains ``\\cmd.exe``"; ``EventID: 4688`` gives "``EventID`` is the number
4688"; an AND keeps the clauses of its operands, the most selective first, an OR makes one clause
of the union of its operands' strongest ones). An event is then tested only against the rules
all of whose clauses it hits, plus the rules without an anchor (negations, keywords without a
literal ...). Atoms are looked up per field: equalities in a dict, substrings in one Aho–Corasick
automaton (pyahocorasick) per field. The anchor is a superset test only: the compiled predicate
still decides, so the index can never lose a match.
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
Clause = list[Atom]  # satisfied when the event satisfies any of its atoms
Anchor = list[Clause]  # satisfied when every clause is; [] = no requirement (always a candidate)
_MAX_ATOMS = 4096  # a clause wider than this filters too little to be worth its look-ups
_MAX_CLAUSES = 3  # more rarely narrows further, and each clause costs index entries


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
    """Expected cost of candidates the clause lets through: short substrings pass many events."""
    return sum(1.0 if kind in ("eq", "num") else 1.0 + 8.0 / len(lit) for kind, _, lit in atoms)


def _strongest(clauses: list[Clause]) -> Anchor:
    """At most _MAX_CLAUSES distinct clauses, the most selective first."""
    out: Anchor = []
    for clause in sorted(clauses, key=_score):
        if clause not in out:
            out.append(clause)
        if len(out) == _MAX_CLAUSES:
            break
    return out


def _one_clause(branches: Sequence[Any]) -> Anchor:
    """An OR: every match satisfies some branch, so one clause of each branch's strongest
    clause; no anchor when a branch has none."""
    out: Clause = []
    for branch in branches:
        clauses = anchor(branch)
        if not clauses:
            return []
        out.extend(clauses[0])
        if len(out) > _MAX_ATOMS:
            return []
    return [out]


def anchor(node: Any) -> Anchor:
    """Clauses every event matching ``node`` satisfies ([]: no requirement).

    An AND keeps the clauses of all its operands (up to _MAX_CLAUSES, most selective first),
    so ``action: [export, download]`` AND ``result: success`` needs both, instead of betting
    on one of them: on the exchange traffic that cut candidates per event from 6.1 to 2.6."""
    if isinstance(node, ConditionFieldEqualsValueExpression):
        atoms = _leaf_atoms(node)
        return [atoms] if atoms else []
    if isinstance(node, ConditionValueExpression):
        atoms = _keyword_atom(node)
        return [atoms] if atoms else []
    if isinstance(node, ConditionAND):
        return _strongest([c for arg in operands(node) for c in anchor(arg)])
    if isinstance(node, ConditionOR):
        return _one_clause(operands(node))
    return []  # NOT: no positive requirement


def rule_anchor(parsed: list[Any]) -> Anchor:
    """The anchor of a rule from its condition trees (compiler.parsed_conditions); several
    trees are OR-ed, as Sigma defines."""
    return anchor(parsed[0]) if len(parsed) == 1 else _one_clause(parsed)


_LOOKUP = {"eq": "value", "num": "value", "sub": "automaton", "kw": "automaton"}


@dataclass
class _FieldIndex:
    """The atoms of one field: rule positions by equal value, and the substring automaton."""

    eq: dict[Any, tuple[int, ...]] = field(default_factory=dict)
    num: dict[Any, tuple[int, ...]] = field(default_factory=dict)
    automaton: Any = None


def _build(atoms: dict[Any, set[int]]) -> dict[Any, tuple[int, ...]]:
    return {k: tuple(sorted(v)) for k, v in atoms.items()}


class RuleIndex:
    """Candidate rules for an event, as the ids the rules' anchors were given with.

    Atoms map to *clause* ids; a rule is a candidate when every one of its clauses was hit.
    Each rule's strongest clause is always indexed; its others only where they cost no extra
    look-up per event (a field and look-up kind some rule's strongest clause already needs):
    indexing every clause added 7 look-ups per exchange event and doubled the index cost."""

    def __init__(self, anchors: Sequence[tuple[int, Anchor]]) -> None:
        self.always = tuple(i for i, a in anchors if not a)
        self._owner: list[int] = []        # clause id -> rule id
        self._need: dict[int, int] = {}    # rule id -> its number of clauses
        looked_up = {(name, _LOOKUP[kind]) for _, a in anchors if a for kind, name, _ in a[0]}
        raw: dict[str, dict[str, dict[Any, set[int]]]] = {}
        for i, given in anchors:
            clauses = given[:1] + [c for c in given[1:]
                                     if all((name, _LOOKUP[kind]) in looked_up for kind, name, _ in c)]
            if clauses:
                self._need[i] = len(clauses)
            for clause in clauses:
                cid = len(self._owner)
                self._owner.append(i)
                for kind, name, lit in clause:
                    raw.setdefault(name, {}).setdefault(kind, {}).setdefault(lit, set()).add(cid)
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
        # The answer for events whose indexed fields are all top-level strings (or absent), by
        # those values: the exchange traffic has a few hundred combinations of action, result,
        # data_level and dataset, so the look-ups below run once per combination (measured on
        # the 100k day: ≈ 4.3 -> 1.5 µs per event). Bounded like _merged; other events, and
        # packs with dotted or keyword atoms, take the look-ups every time.
        self._names: tuple[str, ...] | None = None
        if self._keywords is None and all("." not in name for name, _, _ in self._fields):
            self._names = tuple(name for name, _, _ in self._fields)
        self._by_values: dict[tuple[str | None, ...], tuple[int, ...]] = {}

    @property
    def names(self) -> tuple[str, ...] | None:
        """The indexed fields whose values key :meth:`candidates`' answers (None: not keyed)."""
        return self._names

    def candidates(self, event: dict[str, Any]) -> tuple[int, ...]:
        """Sorted ids of the rules that may match ``event``."""
        names = self._names
        if names is None:
            return self._candidates(event)
        get = event.get
        values = tuple([get(name) for name in names])
        try:
            found = self._by_values.get(values)
        except TypeError:  # a list or object value: not a key
            return self._candidates(event)
        if found is not None:
            return found
        found = self._candidates(event)
        # None stands for absent and for null alike: neither hits an atom. Other scalars are
        # not keys (True == 1 as a key, yet 1 may hit a number atom and True never does).
        if len(self._by_values) < 65536 and all(type(v) is str or v is None for v in values):
            self._by_values[values] = found
        return found

    def _candidates(self, event: dict[str, Any]) -> tuple[int, ...]:
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
            merged = self._resolve(hits)
            if len(self._merged) < 65536:
                self._merged[key] = merged
        return merged

    def _resolve(self, hits: list[tuple[int, ...]]) -> tuple[int, ...]:
        """The rules all of whose clauses are among the hit clause ids."""
        owner, need = self._owner, self._need
        seen: dict[int, int] = {}
        for cid in set().union(*hits):
            rule = owner[cid]
            seen[rule] = seen.get(rule, 0) + 1
        return tuple(sorted([*self.always, *(r for r, n in seen.items() if n == need[r])]))
