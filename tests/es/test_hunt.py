"""Hunt on Elasticsearch: per modifier and per correlation type, the same matches as memory."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from soc.detection import Match, RulePack, hunt
from soc.detection.es_hunt import HuntStats, es_hunt
from soc.detection.es_query import MATCH_NONE, candidate_queries
from soc.detection.pack import rule_key
from soc.store.es import EsConfig, EsEventStore, make_client
from tests.es.conftest import EsHandle
from tests.es.events import make_events

RULES = Path(__file__).parent / "rules"
PACK = RulePack.load(RULES)
EVENTS = make_events(2500)


def signature(m: Match) -> tuple[Any, ...]:
    """What must agree across backends (``line`` is backend-specific: position vs arrival key)."""
    return (m.rule_id, m.event_id, m.correlation, tuple(sorted(m.group.items())), tuple(m.event_ids),
            m.first_seen, m.last_seen)


@pytest.fixture(scope="module")
def store(es_server: EsHandle, tmp_path_factory: pytest.TempPathFactory) -> Iterator[EsEventStore]:
    prefix = f"h{uuid.uuid4().hex[:8]}"
    cfg = EsConfig(url=es_server.url, index_prefix=prefix, replicas=0)
    st = EsEventStore(make_client(cfg), cfg, tmp_path_factory.mktemp("spool") / "spool.db")
    st.append(EVENTS)
    yield st
    st.client.indices.delete(index=f"{prefix}-*")
    st.close()


def test_pack_loads() -> None:
    assert PACK.errors == [] and len(PACK.rules) == 11 and len(PACK.correlations) == 8


@pytest.mark.parametrize("rule", [r for r in PACK.rules if r.source and "modifiers" in str(r.source.path)],
                         ids=lambda r: r.title)
def test_hunt_per_modifier(rule: Any, store: EsEventStore, tmp_path: Path) -> None:
    single = RulePack.load(Path(rule.source.path))
    single.rules = [r for r in single.rules if rule_key(r) == rule_key(rule)]
    expected = [signature(m) for m in hunt(single, EVENTS, backend="memory")]
    stats = HuntStats()
    got = [signature(m) for m in es_hunt(single, store, stats=stats)]
    assert got == expected
    assert 0 < len(expected) < len(EVENTS)  # the rule separates events, both ways
    assert stats.candidates >= stats.confirmed == len(expected)


@pytest.mark.parametrize("corr", PACK.correlations, ids=lambda r: r.type.name.lower())
def test_hunt_per_correlation_type(corr: Any, store: EsEventStore) -> None:
    key = rule_key(corr)
    expected = [signature(m) for m in hunt(PACK, EVENTS, backend="memory") if m.rule_id == key]
    got = [signature(m) for m in es_hunt(PACK, store) if m.rule_id == key]
    assert got == expected and expected, f"{corr.title}: {len(got)} vs {len(expected)}"


def test_time_bounded_hunt(store: EsEventStore) -> None:
    from datetime import datetime

    since = datetime.fromisoformat(EVENTS[1000]["ts"])
    window = [e for e in EVENTS if datetime.fromisoformat(e["ts"]) >= since]
    expected = [signature(m) for m in hunt(PACK, window, backend="memory")]
    assert [signature(m) for m in es_hunt(PACK, store, since=since)] == expected


def _query(detection: dict[str, Any]) -> str:
    from sigma.collection import SigmaCollection

    rule = SigmaCollection.from_dicts([{"title": "q", "logsource": {"product": "shuwei"},
                                        "detection": detection}]).rules[0]
    return candidate_queries(rule)[0]["bool"]["must"][0]["query_string"]["query"]


def test_query_forms_exact_or_widened() -> None:
    # exact where Lucene means what Sigma means on the mapping
    assert _query({"s": {"user|startswith": "svc_"}, "condition": "s"}) == "user:svc_*"
    assert _query({"s": {"rows|gt": 5}, "condition": "s"}) == "rows:>5"
    # a case-insensitive regex cannot be said in Lucene: widened to "has the field" ...
    assert _query({"s": {"dataset|re|i": "^HR"}, "condition": "s"}) == "_exists_:dataset"
    # ... and to "nothing" under a NOT, so NOT(...) still returns every candidate
    assert _query({"s": {"dataset|re": "x"}, "condition": "not s"}) == f"NOT {MATCH_NONE}"
    # src_ip: strings on the keyword sub-field, CIDR on the ip field plus non-addresses
    assert _query({"s": {"src_ip|startswith": "10."}, "condition": "s"}) == "src_ip.text:10.*"
    assert "_exists_:src_ip.text AND NOT _exists_:src_ip" in _query(
        {"s": {"src_ip|cidr": "10.0.0.0/8"}, "condition": "s"})
    # flattened extra is case-sensitive: widened
    assert _query({"s": {"extra.channel": "VPN"}, "condition": "s"}) == "_exists_:extra.channel"


PRUNABLE = """
title: Query
id: 0e5d1a00-0000-4000-8000-000000000301
name: any_query
logsource: {product: shuwei}
detection: {sel: {action: query}, condition: sel}
level: low
---
title: Many queries
id: 0e5d1a00-0000-4000-8000-000000000302
correlation: {type: event_count, rules: [any_query], group-by: [user], timespan: 2h, condition: {gte: 10}}
level: medium
---
title: Big export sum
id: 0e5d1a00-0000-4000-8000-000000000303
name: any_export
logsource: {product: shuwei}
detection: {sel: {action: export}, condition: sel}
level: low
---
title: Export volume by org
id: 0e5d1a00-0000-4000-8000-000000000304
correlation: {type: value_sum, rules: [any_export], group-by: [org, user], timespan: 1h,
              condition: {field: rows, gt: 150000}}
level: high
"""


def test_group_pruning_fetches_less_and_changes_nothing(store: EsEventStore, tmp_path: Path) -> None:
    (tmp_path / "pack.yml").write_text(PRUNABLE)
    pack = RulePack.load(tmp_path / "pack.yml")
    assert pack.errors == []
    pruned, full = HuntStats(), HuntStats()
    with_pruning = [signature(m) for m in es_hunt(pack, store, stats=pruned)]
    without = [signature(m) for m in es_hunt(pack, store, stats=full, prune=False)]
    expected = [signature(m) for m in hunt(pack, EVENTS, backend="memory")]
    assert with_pruning == without == expected
    assert {m[0] for m in expected} == {"0e5d1a00-0000-4000-8000-000000000302",
                                        "0e5d1a00-0000-4000-8000-000000000304"}  # both fire
    assert pruned.pruned_rules == 2
    assert pruned.candidates < full.candidates
