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

import statistics
from collections import deque
from collections.abc import Callable, Iterable
from operator import itemgetter
from typing import Any, Final

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
    _check_acyclic(rule, [])
    if isinstance(rule.condition, SigmaExtendedCorrelationCondition) and rule.type != CT.TEMPORAL:
        raise UnsupportedConstruct("an extended (boolean) condition needs type temporal")
    if isinstance(rule.condition, SigmaCorrelationCondition) and isinstance(rule.condition.fieldref, list):
        raise UnsupportedConstruct("a condition over several fields is not supported")
    if rule.type == CT.VALUE_PERCENTILE:
        pct = rule.condition.percentile if isinstance(rule.condition, SigmaCorrelationCondition) else None
        if pct is None or not 0 <= pct <= 100:
            raise UnsupportedConstruct("value_percentile needs percentile between 0 and 100")


def _check_acyclic(rule: SigmaCorrelationRule, path: list[str]) -> None:
    key = rule_key(rule)
    if key in path:
        raise UnsupportedConstruct("correlation rules reference each other in a cycle: "
                                   + " -> ".join([*path, key]))
    for ref in rule.referenced_rules:
        if isinstance(ref.rule, SigmaCorrelationRule) and ref.rule.referenced_rules:
            _check_acyclic(ref.rule, [*path, key])


# One event in a window: (ts, seq, rules, value, line, event_id, made_of, ts_text) — a plain tuple,
# not a class: ``made_of`` is None for an event and ``(lines, event_ids)`` for a lower
# correlation's match (then ``line`` and ``event_id`` are not read). A tuple of such values is
# built in C and dropped from the cyclic collector's lists at its first collection, where a slots
# object stays tracked and costs a Python ``__init__``: at the 1M day the windows' entries were
# ≈ 85% of the objects each batch's young collection walked.
_Entry = tuple[float, int, tuple[str, ...], Any, "int | None", "str | None",
               "tuple[tuple[int, ...], tuple[str, ...]] | None", str]
_TS: Final = 0
_SEQ: Final = 1
_RULES: Final = 2
_VALUE: Final = 3
_LINE: Final = 4
_ID: Final = 5
_MADE: Final = 6
_TEXT: Final = 7


def _entry_lines(e: _Entry) -> tuple[int, ...]:
    made = e[_MADE]
    if made is not None:
        return made[0]
    return () if e[_LINE] is None else (e[_LINE],)


def _entry_ids(e: _Entry) -> tuple[str, ...]:
    made = e[_MADE]
    if made is not None:
        return made[1]
    return () if e[_ID] is None else (e[_ID],)


class _Group:
    """One group's window, with running aggregates so each event costs O(1) amortised."""

    __slots__ = ("entries", "latest", "fired_at", "values", "total", "numeric", "rules", "mode")

    def __init__(self, mode: str) -> None:
        self.mode = mode  # which aggregate this correlation type needs: count/values/numeric/rules
        self.entries: deque[_Entry] = deque()
        self.latest = float("-inf")
        self.fired_at: float | None = None
        self.values: dict[Any, int] = {}  # value_count: distinct non-null values
        self.total = 0.0                  # value_sum / value_avg over numeric values
        self.numeric = 0
        self.rules: dict[str, int] = {}   # temporal: base rules present

    def _account(self, e: _Entry, sign: int) -> None:
        mode = self.mode
        if mode == "rules":
            for r in e[_RULES]:
                n = self.rules.get(r, 0) + sign
                if n:
                    self.rules[r] = n
                else:
                    del self.rules[r]
        elif mode == "numeric":
            if is_number(e[_VALUE]):
                self.total += sign * e[_VALUE]
                self.numeric += sign
        elif mode == "values":
            v = e[_VALUE]
            if type(v) is str:  # the usual case: one scalar value
                n = self.values.get(v, 0) + sign
                if n:
                    self.values[v] = n
                else:
                    del self.values[v]
                return
            for x in (v if isinstance(v, list) else (v,)):
                if x is not MISSING and x is not None:
                    h = _hashable(x)
                    n = self.values.get(h, 0) + sign
                    if n:
                        self.values[h] = n
                    else:
                        del self.values[h]

    def add(self, e: _Entry) -> None:
        entries, ts = self.entries, e[0]  # e[_TS]
        if not entries or entries[-1][0] <= ts:
            entries.append(e)
        else:  # a late event: keep time order (rare, linear from the right)
            i = len(entries)
            while i and entries[i - 1][0] > ts:
                i -= 1
            entries.insert(i, e)
        if self.mode != "count":
            self._account(e, +1)
        if ts > self.latest:
            self.latest = ts

    def evict_before(self, start: float) -> None:
        entries = self.entries
        counted = self.mode != "count"
        while entries and entries[0][0] < start:  # [_TS]
            e = entries.popleft()
            if counted:
                self._account(e, -1)


_SCALARS = frozenset({str, int, float, bool, type(None)})


def _group_key(fields: list[str]) -> Callable[[dict[str, Any]], tuple[Any, ...]]:
    """The group of an event (its ``group-by`` values, hashable); one top-level field, the
    usual ``group-by: [user]``, without the generic getter loop."""
    if len(fields) == 1 and "." not in fields[0]:
        name = fields[0]

        def one(event: dict[str, Any]) -> tuple[Any, ...]:
            v = event.get(name)  # absent -> None, as _hashable(MISSING)
            return (v,) if type(v) in _SCALARS else (_hashable(v),)
        return one
    getters = [getter(f) for f in fields]
    return lambda event: tuple([_hashable(g(event)) for g in getters])


def _hashable(value: Any) -> Any:
    if type(value) in _SCALARS:
        return value
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
        self.group_fields = {b: [field_for(n, b) for n in self.group_names] for b in self.order}
        self.keyers = {b: _group_key(fs) for b, fs in self.group_fields.items()}
        self.fields = {f for fs in self.group_fields.values() for f in fs}
        cond = rule.condition
        self.extended = cond.parsed if isinstance(cond, SigmaExtendedCorrelationCondition) else None
        self.ref_keys = by_ref
        self.conditions: list[SigmaCorrelationCondition] = (
            [cond, *extra] if isinstance(cond, SigmaCorrelationCondition) else [])
        self.checks = [(_OPS[c.op], c.count) for c in self.conditions]
        fieldref = self.conditions[0].fieldref if self.conditions else None
        self.value_fields = ({b: field_for(fieldref, b) for b in self.order}
                             if self.type in _VALUE_TYPES and isinstance(fieldref, str) and fieldref else {})
        self.value_getters = {b: getter(f) for b, f in self.value_fields.items()}
        self.fields |= set(self.value_fields.values())
        self.groups: dict[tuple[Any, ...], _Group] = {}
        self.mode = {CT.VALUE_COUNT: "values", CT.VALUE_SUM: "numeric", CT.VALUE_AVG: "numeric",
                     CT.TEMPORAL: "rules"}.get(self.type, "count")

    # -- condition --------------------------------------------------------------------------
    def _measure(self, group: _Group) -> float | None:
        # the two most fed types first (enum comparisons are not free at 30,000 events/s)
        kind = self.type
        if kind is CT.VALUE_COUNT:
            return float(len(group.values))
        if kind is CT.EVENT_COUNT:
            return float(len(group.entries))
        if self.type in (CT.VALUE_SUM, CT.VALUE_AVG):
            if not group.numeric:
                return None
            return group.total if self.type == CT.VALUE_SUM else group.total / group.numeric
        if self.type in _VALUE_TYPES:  # median / percentile: recomputed, they are rare
            nums = sorted(float(e[_VALUE]) for e in group.entries if is_number(e[_VALUE]))
            if not nums:
                return None
            if self.type == CT.VALUE_MEDIAN:
                return float(statistics.median(nums))
            pct = self.conditions[0].percentile or 0
            rank = max(1, -(-pct * len(nums) // 100))  # nearest-rank percentile
            return nums[int(rank) - 1]
        if self.type == CT.TEMPORAL:
            return float(len(group.rules))
        # temporal_ordered: how much of the rule list (repeats allowed: [denied, denied, ok])
        # distinct events in time order cover, each event taking one step
        i, order = 0, self.order
        for e in group.entries:
            if i < len(order) and order[i] in e[_RULES]:
                i += 1
        return float(i)

    def _holds(self, group: _Group) -> bool:
        if self.extended is not None:
            return self._eval_extended(self.extended, set(group.rules))
        measure = self._measure(group)
        if measure is None:
            return False
        for op, count in self.checks:
            if not op(measure, count):
                return False
        return True

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
    def feed(self, bases: tuple[str, ...], event: dict[str, Any], line: int | None, seq: int,
             ts: float, ts_text: str, evaluate: bool = True) -> list[Match]:
        """One event that matched ``bases`` (all referenced by this rule); ``evaluate=False``
        only puts it in its window (a restart's warm-up: the condition was checked before)."""
        if len(bases) == 1:
            gkey = self.keyers[bases[0]](event)
            m = self._feed_group(gkey, bases, event, line, seq, ts, ts_text, evaluate)
            return [] if m is None else [m]
        by_group: dict[tuple[Any, ...], list[str]] = {}
        for base in bases:  # aliases may put one event's rules in different groups
            by_group.setdefault(self.keyers[base](event), []).append(base)
        out = []
        for gkey, rules in by_group.items():
            m = self._feed_group(gkey, tuple(rules), event, line, seq, ts, ts_text, evaluate)
            if m is not None:
                out.append(m)
        return out

    def _feed_group(self, gkey: tuple[Any, ...], rules: tuple[str, ...], event: dict[str, Any],
                    line: int | None, seq: int, ts: float, ts_text: str,
                    evaluate: bool = True) -> Match | None:
        group = self.groups.get(gkey)
        if group is None:
            group = self.groups[gkey] = _Group(self.mode)
        span = self.span
        if ts < group.latest - span:
            return None  # arrived after its window slid past
        value = self.value_getters[rules[0]](event) if self.value_getters else None
        # made_of: a lower correlation's match, standing for all its events
        event_id = event.get("event_id")
        group.add((ts, seq, rules, value, line, event_id if type(event_id) is str else None,
                   event.get(_MADE_OF), ts_text))
        start = group.latest - span
        if group.entries[0][0] < start:  # [_TS]
            group.evict_before(start)
        if not evaluate:
            return None
        if group.fired_at is not None and group.latest <= group.fired_at + span:
            return None  # this group's last match's window has not slid past yet
        if not self._holds(group):
            return None
        group.fired_at = group.latest
        return self._match(gkey, group, event, line, ts_text)

    def _match(self, gkey: tuple[Any, ...], group: _Group, event: dict[str, Any],
               line: int | None, ts_text: str) -> Match:
        ordered = sorted(group.entries, key=itemgetter(_SEQ))
        lines = sorted({n for e in ordered for n in _entry_lines(e)})
        event_ids = list(dict.fromkeys(i for e in ordered for i in _entry_ids(e)))
        event_id = event.get("event_id")
        return Match(
            rule_id=self.key, rule_title=self.title, level=self.level, tags=self.tags,
            event_id=event_id if isinstance(event_id, str) else None, line=line, ts=ts_text,
            correlation=True,
            group={n: (list(v) if isinstance(v, tuple) else v) for n, v in zip(self.group_names, gkey)},
            event_ids=event_ids, lines=lines,
            first_seen=group.entries[0][_TEXT], last_seen=group.entries[-1][_TEXT],
        )

    def restore_fired(self, gkey: tuple[Any, ...], fired_at: float) -> None:
        """A match this group made before a restart: the group stays quiet as it did then."""
        group = self.groups.get(gkey)
        if group is None:
            group = self.groups[gkey] = _Group(self.mode)
        if group.fired_at is None or fired_at > group.fired_at:
            group.fired_at = fired_at

    def sweep(self, now: float) -> None:
        """Forget groups whose window and suppression both lie wholly before ``now``."""
        stale = [k for k, g in self.groups.items()
                 if g.latest < now - self.span
                 and (g.fired_at is None or g.fired_at + self.span < now - self.span)]
        for k in stale:
            del self.groups[k]


def _given_time(event: dict[str, Any], epoch: float) -> tuple[float, str] | None:
    """event_time's answer for an event whose ``ts`` the caller parsed to ``epoch``."""
    text = event.get("ts")
    return (epoch, text) if type(text) is str else event_time(event)


_MADE_OF = "\x00made_of"  # key of the (lines, event_ids) a correlation match carries upward


def _as_event(m: Match) -> dict[str, Any]:
    """A correlation match as an event for the correlation above it: its group values, the
    time of its last event, and the events it is made of."""
    return {**m.group, "ts": m.last_seen, "event_id": m.event_id,
            _MADE_OF: (tuple(m.lines), tuple(m.event_ids))}


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
        self.by_key = {corr.key: corr for corr in self.correlations}
        self._seq = 0
        self._latest = float("-inf")
        # which correlations (with which of their base rules) a set of matched rules feeds
        self._targets: dict[tuple[str, ...], list[tuple[_Correlation, tuple[str, ...]]]] = {}
        # told of every correlation match, reported or not (soc/detection_state.py keeps them)
        self.on_fire: Callable[[Match], None] | None = None

    @property
    def longest_span(self) -> float:
        """Seconds of event time a restart must replay to refill every window."""
        return max((c.span for c in self.correlations), default=0.0)

    def referenced(self, base: str) -> bool:
        return base in self.by_base

    def fields(self) -> set[str]:
        """Event fields the engine reads besides the time (group-by and value fields)."""
        return set().union(*(c.fields for c in self.correlations))

    def _targets_of(self, bases: tuple[str, ...]) -> list[tuple[_Correlation, tuple[str, ...]]]:
        targets = self._targets.get(bases)
        if targets is None:
            by_corr: dict[int, tuple[_Correlation, list[str]]] = {}
            for b in bases:
                for corr in self.by_base.get(b, ()):
                    by_corr.setdefault(id(corr), (corr, []))[1].append(b)
            targets = self._targets[bases] = [(c, tuple(bs)) for c, bs in by_corr.values()]
        return targets

    def feed(self, event: dict[str, Any], line: int | None, bases: Iterable[str],
             epoch: float | None = None) -> list[Match]:
        """Add one event's matches of base rules; return the correlation matches it completes.

        ``epoch``: the UTC epoch seconds of ``event["ts"]`` when the caller has parsed it
        already (ingest validates every ``ts``), so it is not parsed twice."""
        bases = tuple(bases)
        targets = self._targets_of(bases)
        if not targets:
            return []
        when = event_time(event) if epoch is None else _given_time(event, epoch)
        if when is None:
            return []  # no usable event time: it cannot be placed in a window
        ts, ts_text = when
        self._seq += 1
        out: list[Match] = []
        on_fire = self.on_fire
        for corr, corr_bases in targets:
            for m in corr.feed(corr_bases, event, line, self._seq, ts, ts_text):
                if on_fire is not None:
                    on_fire(m)
                if corr.rule._output:
                    out.append(m)
                if m.rule_id in self.by_base:  # feeds a correlation above it
                    out.extend(self.feed(_as_event(m), m.line, (m.rule_id,)))
        self._advance(ts)
        return out

    def _advance(self, ts: float) -> None:
        if ts > self._latest:
            self._latest = ts
        if self._seq % SWEEP_EVERY == 0:
            for corr in self.correlations:
                corr.sweep(self._latest)

    def warm(self, event: dict[str, Any], bases: Iterable[str]) -> None:
        """Put back into the windows an event that went through detection before a restart:
        no condition is checked and nothing is emitted (what it completed then is restored by
        :meth:`restore`)."""
        targets = self._targets_of(tuple(bases))
        when = event_time(event) if targets else None
        if when is None:
            return
        ts, ts_text = when
        self._seq += 1
        for corr, corr_bases in targets:
            corr.feed(corr_bases, event, None, self._seq, ts, ts_text, evaluate=False)
        self._advance(ts)

    def restore(self, m: Match) -> None:
        """A correlation match made before a restart: its group is quiet as it was then, and
        it is back in the windows of the correlations over it."""
        corr = self.by_key.get(m.rule_id)
        when = event_time({"ts": m.last_seen})
        if corr is None or when is None:
            return  # the rule is gone from the pack, or the match had no time
        corr.restore_fired(tuple(_hashable(m.group.get(n)) for n in corr.group_names), when[0])
        if m.rule_id in self.by_base:
            self.warm(_as_event(m), (m.rule_id,))
