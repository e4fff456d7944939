"""Streaming detection: every rule compiled once, each event checked as it lands."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sigma.exceptions import SigmaError

from soc.detection.compiler import Placeholders, Predicate, UnsupportedConstruct, compile_rule
from soc.detection.correlation import CorrelationEngine
from soc.detection.match import Match
from soc.detection.pack import RuleLoadError, RulePack, rule_key, rule_level, rule_tags
from soc.detection.prefilter import INDEX_FIELD, action_bound

_CACHE_LIMIT = 10_000  # distinct action values whose candidate list is memoised


class MatchAssembler:
    """Turns "these base rules matched this event" into Match objects + correlation matches.

    Shared by the streaming evaluator and the SQLite hunt, so both emit exactly the same
    matches, in the same order, from the same correlation windows.
    """

    def __init__(self, pack: RulePack) -> None:
        self.order = {rule_key(r): i for i, r in enumerate(pack.rules)}
        self.meta = {rule_key(r): (r.title, rule_level(r), rule_tags(r)) for r in pack.rules}
        # Base rules referenced by a correlation are not reported on their own unless the
        # correlation says ``generate: true`` (pySigma's output flag), as Sigma defines.
        self.output = {rule_key(r) for r in pack.rules if r._output}
        self.engine = CorrelationEngine(pack.correlations, pack.extra_conditions)

    def fields(self) -> set[str]:
        """Event fields ``emit`` reads besides the time: event_id and the correlation fields."""
        return {"event_id"} | self.engine.fields()

    def emit(self, event: dict[str, Any], line: int | None, keys: Iterable[str]) -> list[Match]:
        keys = sorted(keys, key=self.order.__getitem__)
        out: list[Match] = []
        event_id = event.get("event_id")
        event_id = event_id if isinstance(event_id, str) else None
        ts = event.get("ts")
        ts = ts if isinstance(ts, str) else None
        for key in keys:
            if key in self.output:
                title, level, tags = self.meta[key]
                out.append(Match(key, title, level, tags, event_id, line, ts,
                                 event_ids=[event_id] if event_id else [],
                                 lines=[line] if line is not None else [],
                                 first_seen=ts, last_seen=ts))
        out.extend(self.engine.feed(event, line, keys))
        return out


class StreamingDetector:
    """Compiled rule pack; ``process`` returns base matches and correlations closed by the event.

    It holds the correlation windows, so events must reach one detector in time order from one
    thread at a time (the ingest path serialises batches).
    """

    def __init__(self, pack: RulePack, placeholders: Placeholders | None = None) -> None:
        self.pack = pack
        self.errors: list[RuleLoadError] = []
        compiled: list[tuple[str, Predicate, set[str] | None]] = []
        for rule in pack.rules:
            key = rule_key(rule)
            try:
                pred = compile_rule(rule, placeholders or {})
            except (UnsupportedConstruct, SigmaError) as exc:
                self.errors.append(RuleLoadError(pack.paths.get(key, ""), key, str(exc)))
                continue
            compiled.append((key, pred, action_bound(rule)))
        self._index: dict[str, list[tuple[str, Predicate]]] = {}
        self._always = [(k, p) for k, p, b in compiled if b is None]
        for key, pred, bound in compiled:
            for value in bound or ():
                self._index.setdefault(value, []).append((key, pred))
        self._order = {k: i for i, (k, _, _) in enumerate(compiled)}
        self._cache: dict[str, list[tuple[str, Predicate]]] = {}
        self.assembler = MatchAssembler(pack)

    def _candidates(self, action: Any) -> list[tuple[str, Predicate]]:
        if isinstance(action, str):
            hit = self._cache.get(action)
            if hit is not None:
                return hit
            rules = self._merge(self._index.get(action.lower(), []))
            if len(self._cache) < _CACHE_LIMIT:
                self._cache[action] = rules
            return rules
        if isinstance(action, list):
            found: dict[str, Predicate] = {}
            for a in action:
                if isinstance(a, str):
                    found.update(self._index.get(a.lower(), []))
            return self._merge(list(found.items()))
        return self._always

    def _merge(self, bounded: list[tuple[str, Predicate]]) -> list[tuple[str, Predicate]]:
        return sorted(bounded + self._always, key=lambda kp: self._order[kp[0]])

    def matching_rules(self, event: dict[str, Any]) -> list[str]:
        """Keys of the base rules (including correlation-only ones) matching the event."""
        return [k for k, pred in self._candidates(event.get(INDEX_FIELD)) if pred(event)]

    def process(self, event: dict[str, Any], line: int | None = None) -> list[Match]:
        keys = self.matching_rules(event)
        if not keys:
            return []
        return self.assembler.emit(event, line, keys)
