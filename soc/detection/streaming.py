"""Streaming detection: every rule compiled once, each event checked as it lands."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from sigma.exceptions import SigmaError

from soc.detection.compiler import (
    Placeholders,
    Predicate,
    UnsupportedConstruct,
    compile_rule,
    condition_fields,
    parsed_conditions,
)
from soc.detection.correlation import CorrelationEngine
from soc.detection.match import Match
from soc.detection.pack import RuleLoadError, RulePack, rule_key, rule_level, rule_tags
from soc.detection.index import Anchor, RuleIndex, rule_anchor
from soc.detection.logsource import Label, applies, rule_label

log = logging.getLogger(__name__)


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

    def emit(self, event: dict[str, Any], line: int | None, keys: Iterable[str],
             epoch: float | None = None) -> list[Match]:
        keys = list(keys)
        if len(keys) > 1:
            keys.sort(key=self.order.__getitem__)
        out: list[Match] = []
        output = self.output
        for key in keys:
            if key in output:
                event_id = event.get("event_id")
                event_id = event_id if isinstance(event_id, str) else None
                ts = event.get("ts")
                ts = ts if isinstance(ts, str) else None
                title, level, tags = self.meta[key]
                out.append(Match(key, title, level, tags, event_id, line, ts,
                                 event_ids=[event_id] if event_id else [],
                                 lines=[line] if line is not None else [],
                                 first_seen=ts, last_seen=ts))
        out.extend(self.engine.feed(event, line, keys, epoch))
        return out


class StreamingDetector:
    """Compiled rule pack; ``process`` returns base matches and correlations closed by the event.

    It holds the correlation windows, so events must reach one detector in time order from one
    thread at a time (the ingest path serialises batches). ``logsource`` labels every event it is
    given (see logsource.py); ``process`` may label one event differently.

    A rule whose predicate raises on an event is disabled (reported in ``errors``) and every
    other rule keeps running: one bad rule never takes detection down.
    """

    def __init__(self, pack: RulePack, placeholders: Placeholders | None = None,
                 logsource: Label | None = None) -> None:
        self.pack = pack
        self.logsource = logsource
        self.errors: list[RuleLoadError] = []
        wanted = dict(placeholders or {})
        same = pack.placeholders is not None and dict(pack.placeholders) == wanted
        self._keys: list[str] = []
        self._preds: list[Predicate] = []
        self._labels: list[Label] = []
        self._anchors: list[Anchor] = []
        self._reads: list[frozenset[str] | None] = []  # the fields each predicate reads
        for rule in pack.rules:
            key = rule_key(rule)
            # The pack's predicate is reused unless it was compiled with other placeholders.
            pred = (pack.compiled.get(key) if same or key not in pack.with_placeholders
                    else None)
            if pred is None:
                try:
                    pred = compile_rule(rule, wanted)
                except (UnsupportedConstruct, SigmaError) as exc:
                    self.errors.append(RuleLoadError(pack.paths.get(key, ""), key, str(exc)))
                    continue
                except Exception as exc:  # noqa: BLE001 - reported; the other rules still run
                    self.errors.append(RuleLoadError(pack.paths.get(key, ""), key,
                                                     f"cannot compile: {type(exc).__name__}: {exc}"))
                    continue
            self._keys.append(key)
            self._preds.append(pred)
            self._labels.append(rule_label(rule.logsource))
            if key in pack.anchors:
                self._anchors.append(pack.anchors[key])
                self._reads.append(pack.reads.get(key))
            else:
                parsed = parsed_conditions(rule)
                self._anchors.append(rule_anchor(parsed))
                self._reads.append(condition_fields(parsed))
        self._indexes: dict[Label | None, RuleIndex] = {}
        # Per label, by the values of the index's fields: each candidate rule with True when its
        # verdict is known to be a match (it reads only those fields and they are strings: the
        # values decide it alone), False when its predicate must run; known misses left out.
        # The exchange traffic has ≈ 500 such combinations; most rules of the pack read nothing
        # else (action, result, dataset ...).
        self._plans: dict[Label | None, dict[tuple[Any, ...], tuple[tuple[int, bool], ...]]] = {}
        self.assembler = MatchAssembler(pack)

    def _index(self, event_label: Label | None) -> RuleIndex:
        """The index over the rules that can apply to events with this label (built once)."""
        index = self._indexes.get(event_label)
        if index is None:
            index = RuleIndex([(i, a) for i, (a, lab) in enumerate(zip(self._anchors, self._labels))
                               if applies(lab, event_label)])
            self._indexes[event_label] = index
            self._plans[event_label] = {}
        return index

    def matching_rules(self, event: dict[str, Any], logsource: Label | None = None) -> list[str]:
        """Keys of the base rules (including correlation-only ones) matching the event."""
        label = logsource or self.logsource
        index = self._index(label)
        preds, keys = self._preds, self._keys
        names = index.names
        if names is not None:
            get = event.get
            values = tuple([get(name) for name in names])
            try:
                plan = self._plans[label].get(values)
            except TypeError:  # a list or object value: not a key
                plan = None
            else:
                if plan is None:
                    plan = self._plan(label, index, values, event)
            if plan is not None:
                try:
                    return [keys[i] for i, known in plan if known or preds[i](event)]
                except Exception:  # noqa: BLE001 - find and disable the rule that raised
                    return self._isolate(event, index.candidates(event))
        candidates = index.candidates(event)
        try:
            return [keys[i] for i in candidates if preds[i](event)]
        except Exception:  # noqa: BLE001 - find and disable the rule that raised
            return self._isolate(event, candidates)

    def _plan(self, label: Label | None, index: RuleIndex, values: tuple[Any, ...],
              event: dict[str, Any]) -> tuple[tuple[int, bool], ...] | None:
        """The plan for events with these index ``values`` (see ``_plans``), learnt from this
        one; None (nothing kept) when a predicate raised: the caller's usual path isolates it."""
        assert index.names is not None
        strings = {n for n, v in zip(index.names, values) if type(v) is str}
        plan = []
        for i in index.candidates(event):
            reads = self._reads[i]
            if reads is None or not reads <= strings:
                plan.append((i, False))
                continue
            try:
                if self._preds[i](event):
                    plan.append((i, True))
            except Exception:  # noqa: BLE001 - handled by the caller's usual path
                return None
        plans = self._plans[label]
        if len(plans) < 65536:
            plans[values] = tuple(plan)
        return tuple(plan)

    def _isolate(self, event: dict[str, Any], candidates: tuple[int, ...]) -> list[str]:
        out = []
        for i in candidates:
            try:
                if self._preds[i](event):
                    out.append(self._keys[i])
            except Exception as exc:  # noqa: BLE001 - reported, rule disabled
                key = self._keys[i]
                self._preds[i] = _never
                for plans in self._plans.values():  # they may hold its verdict
                    plans.clear()
                err = RuleLoadError(self.pack.paths.get(key, ""), key,
                                    f"disabled: evaluation raised {type(exc).__name__}: {exc}")
                self.errors.append(err)
                log.error("rule %s", err)
        return out

    def process(self, event: dict[str, Any], line: int | None = None,
                logsource: Label | None = None, epoch: float | None = None) -> list[Match]:
        """``epoch``: UTC epoch seconds of ``event["ts"]`` if the caller parsed it already
        (ingest does: soc.validate.parse_ts), saving correlation a second parse."""
        keys = self.matching_rules(event, logsource)
        if not keys:
            return []
        return self.assembler.emit(event, line, keys, epoch)

    def warm(self, event: dict[str, Any], logsource: Label | None = None) -> None:
        """Refill the correlation windows with an event detected before a restart; emits
        nothing (soc/detection_state.py)."""
        keys = self.matching_rules(event, logsource)
        if keys:
            self.assembler.engine.warm(event, keys)


def _never(event: dict[str, Any]) -> bool:
    return False
