"""Index templates: explicit mappings for contract v1 events (and alerts).

Why these types:
- every contract string is a ``keyword`` with a lowercase normalizer, because Sigma matches
  case-insensitively by default; ``|cased`` is checked by Shuwei after the search (hunt);
- ``src_ip`` is an ``ip`` (CIDR queries) with a ``src_ip.text`` keyword for wildcards and for
  values that are not addresses (the contract does not require one);
- ``rows``/``bytes`` are ``long``, ``ts`` a ``date``, ``off_hours`` a ``boolean``; ``extra`` is
  ``flattened``: emitters put anything there and one index must never reject an event over a
  type clash between two emitters;
- ``dynamic: false``: new optional top-level fields stay in ``_source`` (returned, hunted by
  post-filter) without risking a mapping conflict that would reject an accepted event;
- ``ignore_malformed`` and ``ignore_above`` for the same reason: the store keeps every event.
"""

from __future__ import annotations

from typing import Any

from soc.store.base import CONTRACT_COLUMNS, ENRICHMENT_COLUMNS

NORMALIZER = "shuwei_lowercase"
SEQ_FIELD = "ingest_seq"  # arrival order across workers (see events.py)
CHAIN_FIELD = "ingest_chain"  # {w: writer, k: position, h: SM3 chain hash} (soc/integrity/es_log.py)
IGNORE_ABOVE = 8191  # Lucene's 32 KiB term limit in 4-byte UTF-8 characters

_LONG = ("rows", "bytes")
_BOOL = ("off_hours",)
_IP = ("src_ip",)
_KEYWORD_LC = tuple(
    f for f in CONTRACT_COLUMNS + ENRICHMENT_COLUMNS if f not in _LONG + _BOOL + _IP
)


# Fields correlation rules group or count by: they also get an exact ``.raw`` keyword with doc
# values, so the hunt can prune groups that can never fire with exact (case-preserving)
# composite aggregations (soc/detection/es_prune.py). Other keywords only filter: no doc values.
RAW_FIELDS = ("user", "target_user", "session_id", "dataset", "dest", "org", "role", "source",
              "approval_id", "src_ip")


def _keyword(raw: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "keyword", "normalizer": NORMALIZER, "ignore_above": IGNORE_ABOVE,
                           "doc_values": False}
    if raw:
        out["fields"] = {"raw": {"type": "keyword", "ignore_above": IGNORE_ABOVE}}
    return out


def event_properties() -> dict[str, Any]:
    props: dict[str, Any] = {name: _keyword(name in RAW_FIELDS) for name in _KEYWORD_LC}
    props.update({name: {"type": "long", "ignore_malformed": True} for name in _LONG})
    props.update({name: {"type": "boolean"} for name in _BOOL})
    props["src_ip"] = {"type": "ip", "ignore_malformed": True, "fields": {
        "text": _keyword(), "raw": {"type": "keyword", "ignore_above": IGNORE_ABOVE}}}
    props["event_id"] = _keyword()
    props["ts"] = {"type": "date", "format": "strict_date_optional_time", "ignore_malformed": True}
    props["extra"] = {"type": "flattened", "ignore_above": IGNORE_ABOVE}
    props[SEQ_FIELD] = {"type": "long"}
    props[CHAIN_FIELD] = {"type": "object", "enabled": False}
    return props


# ES field type of each contract field, as the hunt's query builder needs to know it.
FIELD_TYPES: dict[str, str] = {
    **{name: "keyword" for name in _KEYWORD_LC},
    **{name: "long" for name in _LONG},
    **{name: "boolean" for name in _BOOL},
    "src_ip": "ip",
    "event_id": "keyword",
}


def events_template(prefix: str, *, shards: int, replicas: int, refresh_interval: str,
                    ilm_policy: str | None = None) -> dict[str, Any]:
    template: dict[str, Any] = {
        "index_patterns": [f"{prefix}-events-*"],
        "priority": 200,
        "template": {
            "settings": {
                "number_of_shards": shards,
                "number_of_replicas": replicas,
                "refresh_interval": refresh_interval,
                # fsync the translog before acknowledging a bulk request (ES default, pinned:
                # "durable when append returns" depends on it).
                "translog": {"durability": "request"},
                "analysis": {"normalizer": {NORMALIZER: {"type": "custom", "filter": ["lowercase"]}}},
            },
            "mappings": {"dynamic": False, "properties": event_properties()},
        },
        "_meta": {"managed_by": "shuwei", "schema": "audit-event v1"},
    }
    if ilm_policy:  # e.g. hot → warm (shrink, force-merge) → delete, on clusters that have ILM
        template["template"]["settings"]["lifecycle"] = {"name": ilm_policy}
    return template


def alerts_template(prefix: str, *, replicas: int) -> dict[str, Any]:
    keyword = {"type": "keyword"}
    return {
        "index_patterns": [f"{prefix}-alerts"],
        "priority": 200,
        "template": {
            "settings": {"number_of_shards": 1, "number_of_replicas": replicas},
            "mappings": {
                "dynamic": False,
                "properties": {
                    "alert": {"type": "object", "enabled": False},  # the contract alert, as given
                    "id": keyword, "rule_id": keyword, "group_key": keyword, "status": keyword,
                    "severity": keyword, "last_epoch": {"type": "double"},
                },
            },
        },
        "_meta": {"managed_by": "shuwei"},
    }
