"""Many Sigma strings tested against one event value in one pass.

SigmaHQ rules list hundreds of values per field (``Image|endswith: [...]``, the Shai-Hulud rule
lists thousands of package names). Testing them one closure at a time costs one Python call per
value per event; here they are grouped by shape: exact values in a set, prefixes and suffixes
as one ``str.startswith``/``str.endswith`` tuple, substrings in one Aho–Corasick automaton
(pyahocorasick) and the remaining wildcard patterns in one RE2 alternation.

Semantics: without ``|cased`` both sides are lower-cased with ``str.lower`` before comparing
(also inside wildcard patterns), so every shape folds case the same way; ``*`` is any run of
characters, ``?`` exactly one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ahocorasick
import re2

from sigma.types import Placeholder, SigmaCasedString, SigmaString, SpecialChars

from soc.detection.errors import UnsupportedConstruct
from soc.detection.regex import compile_regex

ValueTest = Callable[[Any], bool]
Fold = Callable[[str], str]

_AUTOMATON_MIN = 8  # below this many substrings, ``in`` per literal is faster than the automaton
_MULTI, _ONE = SpecialChars.WILDCARD_MULTI, SpecialChars.WILDCARD_SINGLE


def _identity(s: str) -> str:
    return s


class _Shapes:
    """The strings of one case mode, by shape."""

    def __init__(self, fold: Fold) -> None:
        self.fold = fold
        self.exact: set[str] = set()
        self.prefix: set[str] = set()
        self.suffix: set[str] = set()
        self.contains: set[str] = set()
        self.patterns: list[str] = []
        self.any_string = False

    def add(self, value: SigmaString) -> None:
        parts = list(value.iter_parts())
        if any(isinstance(p, Placeholder) for p in parts):
            raise UnsupportedConstruct("unresolved placeholder")
        # ``**`` is ``*``: collapse runs so the shapes below see canonical parts
        canon: list[Any] = []
        for p in parts:
            if p is _MULTI and canon and canon[-1] is _MULTI:
                continue
            if isinstance(p, str) and canon and isinstance(canon[-1], str):
                canon[-1] += p
                continue
            canon.append(p)
        fold = self.fold
        if all(isinstance(p, str) for p in canon):
            self.exact.add(fold("".join(canon)))
        elif canon == [_MULTI]:
            self.any_string = True
        elif len(canon) == 2 and canon[0] is _MULTI and isinstance(canon[1], str):
            self.suffix.add(fold(canon[1]))
        elif len(canon) == 2 and canon[1] is _MULTI and isinstance(canon[0], str):
            self.prefix.add(fold(canon[0]))
        elif (len(canon) == 3 and canon[0] is _MULTI and canon[2] is _MULTI
              and isinstance(canon[1], str)):
            self.contains.add(fold(canon[1]))
        else:
            self.patterns.append("".join(
                re2.escape(fold(p)) if isinstance(p, str) else (".*" if p is _MULTI else ".")
                for p in canon))

    def tests(self) -> list[Callable[[str], bool]]:
        """Tests on the already folded value, cheapest first."""
        out: list[Callable[[str], bool]] = []
        if self.any_string:
            return [lambda s: True]
        if self.exact:
            exact = frozenset(self.exact)
            out.append(exact.__contains__)
        if self.prefix:
            prefix = tuple(sorted(self.prefix))
            out.append(lambda s: s.startswith(prefix))
        if self.suffix:
            suffix = tuple(sorted(self.suffix))
            out.append(lambda s: s.endswith(suffix))
        if self.contains:
            out.append(_contains_test(sorted(self.contains)))
        if self.patterns:
            out.append(_pattern_test(self.patterns))
        return out


def _contains_test(literals: list[str]) -> Callable[[str], bool]:
    if "" in literals:
        return lambda s: True
    if len(literals) < _AUTOMATON_MIN:
        lits = tuple(literals)
        return lambda s: any(lit in s for lit in lits)
    automaton = ahocorasick.Automaton()
    for lit in literals:
        automaton.add_word(lit, lit)
    automaton.make_automaton()

    def test(s: str) -> bool:
        for _ in automaton.iter(s):
            return True
        return False
    return test


def _pattern_test(patterns: list[str]) -> Callable[[str], bool]:
    """One RE2 alternation (linear time whatever the patterns); RE2 memory limits split it."""
    try:
        rx = compile_regex("(?s)" + "|".join(f"(?:{p})" for p in patterns))
        return lambda s: rx.fullmatch(s) is not None
    except UnsupportedConstruct:
        if len(patterns) == 1:
            raise
    half = len(patterns) // 2
    left, right = _pattern_test(patterns[:half]), _pattern_test(patterns[half:])
    return lambda s: left(s) or right(s)


class StringSet:
    """Sigma strings OR-ed together on one value; ``test`` accepts any JSON value."""

    def __init__(self) -> None:
        self.folded = _Shapes(str.lower)
        self.cased = _Shapes(_identity)

    def add(self, value: SigmaString) -> None:
        (self.cased if isinstance(value, SigmaCasedString) else self.folded).add(value)

    def exact_only(self) -> frozenset[str] | None:
        """The lower-cased values when every member is a plain case-insensitive value."""
        f, c = self.folded, self.cased
        if (f.exact and not (f.prefix or f.suffix or f.contains or f.patterns or f.any_string)
                and not (c.exact or c.prefix or c.suffix or c.contains or c.patterns
                         or c.any_string)):
            return frozenset(f.exact)
        return None

    def test(self) -> ValueTest:
        folded, cased = self.folded.tests(), self.cased.tests()
        if len(folded) == 1 and not cased:
            one = folded[0]
            return lambda v: type(v) is str and one(v.lower())

        def test(v: Any) -> bool:
            if type(v) is not str:
                return False
            if folded:
                lv = v.lower()
                for t in folded:
                    if t(lv):
                        return True
            for t in cased:
                if t(v):
                    return True
            return False
        return test
