"""Skip correlation groups that can never fire, before fetching their events from ES.

A base rule that only feeds correlations (``generate: false``) can match most of the traffic —
"every successful query" feeds "one user enumerating many datasets" — yet only a few groups ever
come near the threshold. A composite aggregation over the rule's candidate events (exact
``.raw`` keywords, see mapping.RAW_FIELDS) gives, per group, a bound that every window of that
group stays under: its event count, distinct values, sum or maximum over ALL its candidates. A
group whose bound misses the condition cannot fire in any window, so its events need not be
fetched; everything else goes through the exact engine as before. Only monotone bounds are used
(counts, distinct counts and sums of non-negative ``rows``/``bytes``, maxima for ``>`` on
averages, medians and percentiles), so pruning never changes a result — the parity tests hold it
to that.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from sigma.correlations import SigmaCorrelationCondition, SigmaCorrelationRule
from sigma.correlations import SigmaCorrelationConditionOperator as Op
from sigma.correlations import SigmaCorrelationType as CT

from soc.detection.pack import rule_key
from soc.store.es.events import EsEventStore
from soc.store.es.mapping import RAW_FIELDS

PRUNE_LIMIT = 5_000       # candidate groups past which a filter costs more than it saves
_PAGE = 10_000
_NUMERIC = {"rows", "bytes"}  # long, validated >= 0 (sums are monotone)


def _agg_field(name: str) -> str | None:
    if name in RAW_FIELDS:
        return f"{name}.raw"
    if name in _NUMERIC or name == "off_hours":
        return name
    return None


def _bound(corr: SigmaCorrelationRule) -> tuple[str, str | None, float, bool] | None:
    """(measure, value field, threshold, strict) a group must reach to fire, or None."""
    cond = corr.condition
    if not isinstance(cond, SigmaCorrelationCondition) or cond.op not in (Op.GT, Op.GTE):
        return None
    strict = cond.op == Op.GT
    if corr.type == CT.EVENT_COUNT:
        return ("count", None, float(cond.count), strict)
    field = cond.fieldref if isinstance(cond.fieldref, str) else None
    if field is None or _agg_field(field) is None:
        return None
    if corr.type == CT.VALUE_COUNT:
        return ("distinct", field, float(cond.count), strict)
    if corr.type == CT.VALUE_SUM and field in _NUMERIC:
        return ("sum", field, float(cond.count), strict)
    if corr.type in (CT.VALUE_AVG, CT.VALUE_MEDIAN, CT.VALUE_PERCENTILE) and field in _NUMERIC:
        return ("max", field, float(cond.count), strict)
    return None


def _reaches(value: float | None, threshold: float, strict: bool) -> bool:
    return value is not None and (value > threshold if strict else value >= threshold)


def _groups(store: EsEventStore, query: dict[str, Any], fields: list[str],
            bound: tuple[str, str | None, float, bool]) -> set[tuple[Any, ...]] | None:
    """Groups whose bound reaches the condition; None when there are too many to filter on."""
    measure, value_field, threshold, strict = bound
    sources: list[dict[str, Any]] = [{f"g{i}": {"terms": {"field": f, "missing_bucket": True}}}
                                     for i, f in enumerate(fields)]
    sub: dict[str, Any] = {}
    if measure == "distinct":
        assert value_field is not None  # _bound gives distinct counts their field
        sources.append({"v": {"terms": {"field": _agg_field(value_field)}}})
    elif measure in ("sum", "max"):
        sub = {"m": {measure: {"field": value_field}}}
    distinct: Counter[tuple[Any, ...]] = Counter()
    keep: set[tuple[Any, ...]] = set()
    after = None
    while True:
        comp: dict[str, Any] = {"size": _PAGE, "sources": sources}
        if after is not None:
            comp["after"] = after
        agg: dict[str, Any] = {"composite": comp}
        if sub:
            agg["aggs"] = sub
        resp = store.client.search(index=store.pattern, size=0, query=query, aggs={"c": agg},
                                   ignore_unavailable=True, allow_no_indices=True)
        buckets = resp["aggregations"]["c"]["buckets"] if "aggregations" in resp else []
        for b in buckets:
            group = tuple(b["key"][f"g{i}"] for i in range(len(fields)))
            if measure == "distinct":
                distinct[group] += 1
            elif measure == "count":
                if _reaches(b["doc_count"], threshold, strict):
                    keep.add(group)
            elif _reaches(b["m"]["value"], threshold, strict):
                keep.add(group)
        after = resp.get("aggregations", {}).get("c", {}).get("after_key")
        if not buckets or after is None:
            break
    if measure == "distinct":
        keep = {g for g, n in distinct.items() if _reaches(n, threshold, strict)}
    return None if len(keep) > PRUNE_LIMIT else keep


def _group_filter(fields: list[str], groups: set[tuple[Any, ...]]) -> dict[str, Any]:
    def one(group: tuple[Any, ...]) -> dict[str, Any]:
        must = [{"term": {f: v}} for f, v in zip(fields, group) if v is not None]
        must_not = [{"exists": {"field": f}} for f, v in zip(fields, group) if v is None]
        return {"bool": {"filter": must, "must_not": must_not}}
    if len(fields) == 1 and None not in {g[0] for g in groups}:
        return {"terms": {fields[0]: sorted(g[0] for g in groups)}}
    return {"bool": {"should": [one(g) for g in groups] or [{"match_none": {}}], "minimum_should_match": 1}}


def restrictions(store: EsEventStore, correlations: list[SigmaCorrelationRule], output: set[str],
                 rule_queries: dict[str, list[dict[str, Any]]],
                 time_filter: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per base rule that only feeds prunable correlations: an extra filter keeping the events
    of groups that may still fire. Rules absent from the result are fetched in full."""
    per_base: dict[str, list[dict[str, Any] | None]] = {}
    for corr in correlations:
        bases = list(dict.fromkeys(rule_key(r.rule) for r in corr.referenced_rules))
        fields = [_agg_field(g) for g in (corr.group_by or [])]
        names = [f for f in fields if f is not None]
        bound = _bound(corr)
        flt: dict[str, Any] | None = None
        if bound and names and len(names) == len(fields) and not corr.aliases.aliases \
                and all(b in rule_queries for b in bases):
            query = {"bool": {"should": [q for b in bases for q in rule_queries[b]],
                              "minimum_should_match": 1, "filter": time_filter}}
            groups = _groups(store, query, names, bound)
            if groups is not None:
                flt = _group_filter(names, groups)
        for b in bases:
            per_base.setdefault(b, []).append(flt)
    out: dict[str, dict[str, Any]] = {}
    for base, filters in per_base.items():
        present = [f for f in filters if f is not None]
        if base in output or len(present) < len(filters):
            continue
        out[base] = present[0] if len(present) == 1 else {
            "bool": {"should": present, "minimum_should_match": 1}}
    return out
