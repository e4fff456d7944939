"""Hunt a rule pack over events stored in Elasticsearch, with the memory hunt's exact results.

One scan, in arrival order: every base rule becomes a named candidate query (es_query.py); ES
returns the union, page by page (point in time + search_after on ``ingest_seq``), each hit
naming the rules whose query it met. Shuwei then checks those rules with the compiled predicates
(compiler.py) and hands the confirmed ones to the detection engineer's MatchAssembler, which
computes base matches and correlation windows exactly as streaming and the SQLite hunt do —
correlation stays in Shuwei because ES|QL and EQL need licensed features.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sigma.conditions import ConditionFieldEqualsValueExpression, ConditionValueExpression
from sigma.exceptions import SigmaError
from sigma.types import SigmaFieldReference

from soc.detection.compiler import Placeholders, Predicate, UnsupportedConstruct, compile_rule
from soc.detection.es_prune import restrictions
from soc.detection.es_query import candidate_queries
from soc.detection.hunt import HuntResult, detached_copy
from soc.detection.pack import RuleLoadError, RulePack, rule_key
from soc.detection.streaming import MatchAssembler
from soc.store.es.events import EsEventStore
from soc.store.es.mapping import CHAIN_FIELD, SEQ_FIELD


class HuntStats:
    """What the scan cost: candidates fetched vs matches confirmed (for the benchmark)."""

    def __init__(self) -> None:
        self.candidates = 0
        self.confirmed = 0
        self.pruned_rules = 0  # base rules fetched only for correlation groups that may fire


def rule_queries(pack: RulePack, placeholders: Placeholders | None,
                 errors: list[RuleLoadError]) -> tuple[dict[str, list[dict[str, Any]]], dict[str, Predicate]]:
    """Candidate queries and compiled predicates of every base rule that converts."""
    queries: dict[str, list[dict[str, Any]]] = {}
    predicates: dict[str, Predicate] = {}
    for rule in pack.rules:
        key = rule_key(rule)
        try:
            predicate = compile_rule(rule, placeholders or {})
            converted = candidate_queries(detached_copy(rule), {k: list(v) for k, v in (placeholders or {}).items()})
        except (UnsupportedConstruct, SigmaError, NotImplementedError, TypeError) as exc:
            errors.append(RuleLoadError(pack.paths.get(key, ""), key, f"elasticsearch backend: {exc}"))
            continue
        predicates[key] = predicate
        queries[key] = converted
    return queries, predicates


def needed_fields(pack: RulePack) -> list[str] | None:
    """The event fields the rules and correlations read (None = the whole event: a keyword
    search looks everywhere). Fetching only these halves what ES sends and Python parses."""
    fields = {"ts", "event_id"}
    whole = False

    def walk(node: Any) -> None:
        nonlocal whole
        if isinstance(node, ConditionValueExpression):
            whole = True
        if isinstance(node, ConditionFieldEqualsValueExpression):
            fields.add(node.field)
            if isinstance(node.value, SigmaFieldReference):
                fields.add(node.value.field)
        for arg in getattr(node, "args", None) or []:
            walk(arg)

    for rule in pack.rules:
        for cond in rule.detection.parsed_condition:
            walk(cond.parsed)
    for corr in pack.correlations:
        fields.update(corr.group_by or [])
        for alias in corr.aliases.aliases.values():
            fields.update(alias.mapping.values())
        fieldref = getattr(corr.condition, "fieldref", None)
        if isinstance(fieldref, str):
            fields.add(fieldref)
    return None if whole else sorted(fields)


def es_hunt(pack: RulePack, store: EsEventStore, placeholders: Placeholders | None = None, *,
            since: datetime | None = None, until: datetime | None = None,
            stats: HuntStats | None = None, prune: bool = True) -> HuntResult:
    """Matches in arrival order; ``line`` is the event's ``ingest_seq`` (its arrival key in ES)."""
    result = HuntResult()
    queries, predicates = rule_queries(pack, placeholders, result.errors)
    if not queries:
        return result
    rng: dict[str, str] = {}
    if since is not None:
        rng["gte"] = since.isoformat()
    if until is not None:
        rng["lt"] = until.isoformat()
    time_filter = [{"range": {"ts": rng}}] if rng else []
    store.refresh()
    output = {rule_key(r) for r in pack.rules if r._output}
    limits = restrictions(store, pack.correlations, output, queries, time_filter) if prune else {}
    clauses = []
    for key, qs in queries.items():
        for q in qs:
            clause: dict[str, Any] = {"bool": {"must": [q], "_name": key}}
            if key in limits:
                clause["bool"]["filter"] = [limits[key]]
            clauses.append(clause)
    query: dict[str, Any] = {"bool": {"should": clauses, "minimum_should_match": 1, "filter": time_filter}}
    stats = stats or HuntStats()
    stats.pruned_rules = len(limits)
    assembler = MatchAssembler(pack)
    fields = needed_fields(pack)
    for hits in store.search_pages(query, source=True if fields is None else fields + [SEQ_FIELD]):
        stats.candidates += len(hits)
        for hit in hits:
            doc = hit["_source"]
            seq = doc.pop(SEQ_FIELD, None)
            doc.pop(CHAIN_FIELD, None)
            keys = [k for k in dict.fromkeys(hit.get("matched_queries", ())) if predicates[k](doc)]
            if keys:
                stats.confirmed += 1
                result.extend(assembler.emit(doc, seq, keys))
    return result
