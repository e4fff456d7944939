"""Sigma correlation rules over base-rule matches, with sliding event-time windows.

One engine serves streaming ingest, both hunt backends and the Elasticsearch store: it consumes
``(event, line, matched base rule keys)`` in arrival order and knows nothing of where events
come from.

Window and emission rule (identical everywhere):
- Per correlation rule and group (the ``group-by`` values, through ``aliases``), the window is
  the closed interval ``[t - timespan, t]`` where ``t`` is the latest event time seen in the
  group; older entries slide out. An event older than the window on arrival is ignored.
- When the condition holds after an event is added, ONE match is emitted for the group, made up
  of every event in the window. The group is then suppressed until that window has fully slid
  past: no further match until an event later than ``fired_at + timespan`` arrives, so the next
  match is made only of events after the previous one -- one match per group and window.
"""

from __future__ import annotations

import bisect
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sigma.correlations import (
    CorrelationConditionAND,
    CorrelationConditionNOT,
    CorrelationConditionOR,
    SigmaCorrelationCondition,
    SigmaCorrelationConditionOperator as Op,
    SigmaCorrelationRule,
    SigmaCorrelationType as CT,
    SigmaExtendedCorrelationCondition,
    SigmaRuleReference,
)
from sigma.rule import SigmaRule

from soc.detection.compiler import UnsupportedConstruct, is_number
from soc.detection.fields import MISSING, getter
from soc.detection.match import Match
from soc.detection.pack import rule_key, rule_level, rule_tags
from soc.detection.timeutil import event_time

_OPS = {
    Op.LT: lambda a, b: a < b, Op.LTE: lambda a, b: a <= b, Op.GT: lambda a, b: a > b,
    Op.GTE: lambda a, b: a >= b, Op.EQ: lambda a, b: a == b, Op.NEQ: lambda a, b: a != b,
}
_VALUE_TYPES = {CT.VALUE_COUNT, CT.VALUE_SUM, CT.VALUE_AVG, CT.VALUE_MEDIAN, CT.VALUE_PERCENTILE}
_SUPPORTED = {CT.EVENT_COUNT, CT.TEMPORAL, CT.TEMPORAL_ORDERED} | _VALUE_TYPES
SWEEP_EVERY = 4096  # events between sweeps of idle groups (bounds memory in long streams)


def check_correlation(rule: SigmaCorrelationRule) -> None:
    """Raise UnsupportedConstruct for a correlation this engine cannot evaluate exactly."""
    if rule.type not in _SUPPORTED:
        raise UnsupportedConstruct(f"correlation type {rule.type.name.lower()} is not supported")
    for ref in rule.referenced_rules:
        if not isinstance(ref.rule, SigmaRule):
            raise UnsupportedConstruct("correlations over correlation rules are not supported")
    if isinstance(rule.condition, SigmaExtendedCorrelationCondition) and rule.type != CT.TEMPORAL:
        raise UnsupportedConstruct("an extended (boolean) condition needs type temporal")
    if isinstance(rule.condition, SigmaCorrelationCondition) and isinstance(rule.condition.fieldref, list):
        raise UnsupportedConstruct("a condition over several fields is not supported")
    if rule.type == CT.VALUE_PERCENTILE:
        pct = rule.condition.percentile if isinstance(rule.condition, SigmaCorrelationCondition) else None
        if pct is None or not 0 <= pct <= 100:
            raise UnsupportedConstruct("value_percentile needs percentile between 0 and 100")


@dataclass(order=True)
class _Entry:
    ts: float
    seq: int
    rule: str = field(compare=False)
    value: Any = field(compare=False)
    line: int | None = field(compare=False)
    event_id: str | None = field(compare=False)
    ts_text: str = field(compare=False)


@dataclass
class _Group:
    entries: list[_Entry] = field(default_factory=list)
    latest: float = float("-inf")
    fired_at: float | None = None


def _hashable(value: Any) -> Any:
    if value is MISSING:
        return None
    if isinstance(value, list):
        return tuple(_hashable(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _hashable(v)) for k, v in value.items()))
    return value


class _Correlation:
    """State of one correlation rule."""

    def __init__(self, rule: SigmaCorrelationRule, extra: list[SigmaCorrelationCondition]) -> None:
        self.rule = rule
        self.key, self.title = rule_key(rule), rule.title
        self.level, self.tags = rule_level(rule), rule_tags(rule)
        self.span = float(rule.timespan.seconds)
        self.type = rule.type
        self.group_names = list(rule.group_by or [])
        refs: list[SigmaRuleReference] = list(rule.referenced_rules)
        self.order = [rule_key(r.rule) for r in refs]
        by_ref = {r.reference: rule_key(r.rule) for r in refs}

        def field_for(name: str, base: str) -> str:
            alias = rule.aliases.aliases.get(name)
            if alias is not None:
                for ref, fname in alias.mapping.items():
                    if by_ref.get(ref.reference) == base:
                        return fname
            return name
        self.getters = {b: [getter(field_for(n, b)) for n in self.group_names] for b in self.order}
        cond = rule.condition
        self.extended = cond.parsed if isinstance(cond, SigmaExtendedCorrelationCondition) else None
        self.ref_keys = by_ref
        self.conditions: list[SigmaCorrelationCondition] = (
            [cond, *extra] if isinstance(cond, SigmaCorrelationCondition) else [])
        fieldref = self.conditions[0].fieldref if self.conditions else None
        self.value_getters = ({b: getter(field_for(fieldref, b)) for b in self.order}
                              if self.type in _VALUE_TYPES and fieldref else {})
        self.groups: dict[tuple[Any, ...], _Group] = {}

    # -- condition --------------------------------------------------------------------------
    def _measure(self, entries: list[_Entry]) -> float | None:
        if self.type == CT.EVENT_COUNT:
            return float(len({e.seq for e in entries}))
        if self.type == CT.VALUE_COUNT:
            values: set[Any] = set()
            for e in entries:
                v = e.value
                for x in (v if isinstance(v, list) else [v]):
                    if x is not MISSING and x is not None:
                        values.add(_hashable(x))
            return float(len(values))
        if self.type in _VALUE_TYPES:
            per_event = {e.seq: e.value for e in entries}
            nums = [float(v) for v in per_event.values() if is_number(v)]
            if not nums:
                return None
            if self.type == CT.VALUE_SUM:
                return sum(nums)
            if self.type == CT.VALUE_AVG:
                return sum(nums) / len(nums)
            if self.type == CT.VALUE_MEDIAN:
                return float(statistics.median(nums))
            pct = self.conditions[0].percentile or 0
            nums.sort()  # nearest-rank percentile
            rank = max(1, -(-pct * len(nums) // 100))
            return nums[int(rank) - 1]
        present = {e.rule for e in entries}
        if self.type == CT.TEMPORAL:
            return float(len(present))
        # temporal_ordered: length of the longest prefix of the rule list seen in time order
        i = 0
        for e in entries:
            if i < len(self.order) and e.rule == self.order[i]:
                i += 1
        return float(i)

    def _holds(self, entries: list[_Entry]) -> bool:
        if self.extended is not None:
            present = {e.rule for e in entries}
            return self._eval_extended(self.extended, present)
        measure = self._measure(entries)
        if measure is None:
            return False
        if self.type == CT.TEMPORAL_ORDERED and not self.conditions:
            return measure >= len(self.order)
        return all(_OPS[c.op](measure, c.count) for c in self.conditions)

    def _eval_extended(self, node: Any, present: set[str]) -> bool:
        if isinstance(node, SigmaRuleReference):
            return self.ref_keys.get(node.reference, node.reference) in present
        if isinstance(node, CorrelationConditionAND):
            return all(self._eval_extended(a, present) for a in node.args)
        if isinstance(node, CorrelationConditionOR):
            return any(self._eval_extended(a, present) for a in node.args)
        if isinstance(node, CorrelationConditionNOT):
            return not self._eval_extended(node.args[0], present)
        raise UnsupportedConstruct(f"unexpected correlation condition {node!r}")  # pragma: no cover

    # -- feeding ----------------------------------------------------------------------------
    def feed(self, base: str, event: dict[str, Any], line: int | None, seq: int,
             ts: float, ts_text: str) -> Match | None:
        gkey = tuple(_hashable(g(event)) for g in self.getters[base])
        group = self.groups.get(gkey)
        if group is None:
            group = self.groups[gkey] = _Group()
        if ts < group.latest - self.span:
            return None  # arrived after its window slid past
        value = self.value_getters[base](event) if self.value_getters else None
        event_id = event.get("event_id")
        bisect.insort(group.entries, _Entry(ts, seq, base, value, line,
                                            event_id if isinstance(event_id, str) else None, ts_text))
        if ts > group.latest:
            group.latest = ts
        start = group.latest - self.span
        if group.entries[0].ts < start:
            cut = bisect.bisect_left([e.ts for e in group.entries], start)
            del group.entries[:cut]
        if group.fired_at is not None and group.latest <= group.fired_at + self.span:
            return None  # this group's last match's window has not slid past yet
        if not self._holds(group.entries):
            return None
        group.fired_at = group.latest
        return self._match(gkey, group.entries, event, line, ts_text)

    def _match(self, gkey: tuple[Any, ...], entries: list[_Entry], event: dict[str, Any],
               line: int | None, ts_text: str) -> Match:
        by_seq: dict[int, _Entry] = {}
        for e in entries:
            by_seq.setdefault(e.seq, e)
        ordered = [by_seq[s] for s in sorted(by_seq)]
        event_id = event.get("event_id")
        return Match(
            rule_id=self.key, rule_title=self.title, level=self.level, tags=self.tags,
            event_id=event_id if isinstance(event_id, str) else None, line=line, ts=ts_text,
            correlation=True,
            group={n: (list(v) if isinstance(v, tuple) else v) for n, v in zip(self.group_names, gkey)},
            event_ids=[e.event_id for e in ordered if e.event_id is not None],
            lines=[e.line for e in ordered if e.line is not None],
            first_seen=min(entries).ts_text, last_seen=max(entries).ts_text,
        )

    def sweep(self, now: float) -> None:
        """Forget groups whose window and suppression both lie wholly before ``now``."""
        stale = [k for k, g in self.groups.items()
                 if g.latest < now - self.span
                 and (g.fired_at is None or g.fired_at + self.span < now - self.span)]
        for k in stale:
            del self.groups[k]


class CorrelationEngine:
    """All correlation rules of a pack; feed it every event's base-rule matches in order."""

    def __init__(self, correlations: Iterable[SigmaCorrelationRule],
                 extra_conditions: dict[str, list[SigmaCorrelationCondition]] | None = None) -> None:
        extra = extra_conditions or {}
        self.correlations = [_Correlation(r, extra.get(rule_key(r), [])) for r in correlations]
        self.by_base: dict[str, list[_Correlation]] = {}
        for corr in self.correlations:
            for base in dict.fromkeys(corr.order):
                self.by_base.setdefault(base, []).append(corr)
        self._seq = 0
        self._latest = float("-inf")

    def referenced(self, base: str) -> bool:
        return base in self.by_base

    def feed(self, event: dict[str, Any], line: int | None, bases: Iterable[str]) -> list[Match]:
        """Add one event's matches of base rules; return the correlation matches it completes."""
        targets = [(b, c) for b in bases for c in self.by_base.get(b, ())]
        if not targets:
            return []
        when = event_time(event)
        if when is None:
            return []  # no usable event time: it cannot be placed in a window
        ts, ts_text = when
        self._seq += 1
        out: list[Match] = []
        for base, corr in targets:
            m = corr.feed(base, event, line, self._seq, ts, ts_text)
            if m is not None:
                out.append(m)
        if ts > self._latest:
            self._latest = ts
        if self._seq % SWEEP_EVERY == 0:
            for corr in self.correlations:
                corr.sweep(self._latest)
        return out
