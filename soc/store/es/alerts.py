"""AlertStore on Elasticsearch: one ``<prefix>-alerts`` index, ``_id`` = alert id.

Writes refresh the alerts index so the next ``find_open`` sees them: alerts are few, and grouping
a new match into the alert just written depends on it.
"""

from __future__ import annotations

from typing import Any

from elasticsearch import Elasticsearch, NotFoundError

from classifier.settings import Settings
from soc.store.es.config import EsConfig, es_config, make_client
from soc.store.es.mapping import alerts_template

_CLOSED = ["resolved", "false_positive"]


class EsAlertStore:
    def __init__(self, client: Elasticsearch, cfg: EsConfig) -> None:
        self.client = client
        self.index = f"{cfg.index_prefix}-alerts"
        client.indices.put_index_template(name=self.index, **alerts_template(cfg.index_prefix, replicas=cfg.replicas))

    @classmethod
    def from_settings(cls, settings: Settings) -> EsAlertStore:
        cfg = es_config(settings)
        return cls(make_client(cfg), cfg)

    def find_open(self, rule_id: str, group_key: str, not_before: float) -> dict[str, Any] | None:
        query = {"bool": {
            "filter": [{"term": {"rule_id": rule_id}}, {"term": {"group_key": group_key}},
                       {"range": {"last_epoch": {"gte": not_before}}}],
            "must_not": [{"terms": {"status": _CLOSED}}],
        }}
        try:
            hits = self.client.search(index=self.index, query=query, size=1,
                                      sort=[{"last_epoch": "desc"}])["hits"]["hits"]
        except NotFoundError:
            return None
        return hits[0]["_source"]["alert"] if hits else None

    def put(self, alert: dict[str, Any], *, rule_id: str, group_key: str, last_epoch: float) -> None:
        self.client.index(index=self.index, id=alert["id"], refresh=True, document={
            "alert": alert, "id": alert["id"], "rule_id": rule_id, "group_key": group_key,
            "status": alert["status"], "severity": alert["severity"], "last_epoch": last_epoch,
        })

    def get(self, alert_id: str) -> dict[str, Any] | None:
        try:
            return self.client.get(index=self.index, id=alert_id)["_source"]["alert"]
        except NotFoundError:
            return None

    def list(self, *, status: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        """Newest first by ``last_seen``; every alert unless ``limit`` (search_after pages)."""
        query = {"term": {"status": status}} if status else {"match_all": {}}
        out: list[dict[str, Any]] = []
        after = None
        try:
            while limit is None or len(out) < limit:
                size = 1000 if limit is None else min(1000, limit - len(out))
                hits = self.client.search(index=self.index, query=query, size=size, search_after=after,
                                          sort=[{"last_epoch": "desc"}, {"id": "asc"}])["hits"]["hits"]
                if not hits:
                    break
                out.extend(h["_source"]["alert"] for h in hits)
                after = hits[-1]["sort"]
        except NotFoundError:
            return []
        return out

    def close(self) -> None:
        self.client.close()
