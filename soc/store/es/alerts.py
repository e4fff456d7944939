"""AlertStore on Elasticsearch: one ``<prefix>-alerts`` index, ``_id`` = alert id.

Writes refresh the alerts index so the next ``find_open`` sees them: alerts are few, and grouping
a new match into the alert just written depends on it. While the cluster cannot be reached, alerts
are kept in the event spool (spool.py) and read from there; ``replay`` sends them.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from elastic_transport import TransportError
from elasticsearch import Elasticsearch, NotFoundError

from classifier.settings import Settings
from soc.alerts.manager import AlertError
from soc.store.es.config import EsConfig, es_config, make_client
from soc.store.es.mapping import alerts_template
from soc.store.es.spool import Spool

log = logging.getLogger(__name__)

_CLOSED = ["resolved", "false_positive"]


def _unreachable(exc: Exception) -> AlertError:
    return AlertError(f"Elasticsearch unreachable ({type(exc).__name__}); alerts raised meanwhile "
                      "wait in the spool until `shuwei es replay`")


class EsAlertStore:
    def __init__(self, client: Elasticsearch, cfg: EsConfig, spool_path: Path | None = None) -> None:
        self.client = client
        self.cfg = cfg
        self.index = f"{cfg.index_prefix}-alerts"
        self.spool = Spool(spool_path) if spool_path is not None else None
        self._template_ok = False
        try:
            self._ensure_template()
        except TransportError as exc:
            if self.spool is None:
                raise
            log.warning("Elasticsearch unavailable (%s); alerts wait in %s", type(exc).__name__,
                        self.spool.path)

    @classmethod
    def from_settings(cls, settings: Settings) -> EsAlertStore:
        cfg = es_config(settings)
        return cls(make_client(cfg), cfg, cfg.spool or settings.ensure_data_dir() / "es-spool.db")

    def _ensure_template(self) -> None:
        if not self._template_ok:
            self.client.indices.put_index_template(
                name=self.index, **alerts_template(self.cfg.index_prefix, replicas=self.cfg.replicas))
            self._template_ok = True

    def find_open(self, rule_id: str, group_key: str, not_before: float) -> dict[str, Any] | None:
        if self.spool is not None:
            spooled = self.spool.open_alert(rule_id, group_key, not_before)
            if spooled is not None:
                return spooled
        try:
            return self._find_open(rule_id, group_key, not_before)
        except TransportError:
            if self.spool is None:
                raise
            return None

    def _find_open(self, rule_id: str, group_key: str, not_before: float) -> dict[str, Any] | None:
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
        if self.spool is not None and self.spool.alert(alert["id"]) is not None:
            self.spool.put_alert(alert, rule_id, group_key, last_epoch)  # keep its order: spooled first
            return
        try:
            self._put(alert, rule_id=rule_id, group_key=group_key, last_epoch=last_epoch)
        except TransportError as exc:
            if self.spool is None:
                raise
            log.warning("Elasticsearch unavailable (%s); alert kept in %s", type(exc).__name__,
                        self.spool.path)
            self.spool.put_alert(alert, rule_id, group_key, last_epoch)
            return
        if self.spool is not None and self.spool.alerts():
            self.replay()  # the cluster is back: alerts of the outage follow

    def _put(self, alert: dict[str, Any], *, rule_id: str, group_key: str, last_epoch: float) -> None:
        self._ensure_template()
        self.client.index(index=self.index, id=alert["id"], refresh=True, document={
            "alert": alert, "id": alert["id"], "rule_id": rule_id, "group_key": group_key,
            "status": alert["status"], "severity": alert["severity"], "last_epoch": last_epoch,
        })

    def get(self, alert_id: str) -> dict[str, Any] | None:
        spooled = self.spool.alert(alert_id) if self.spool is not None else None
        if spooled is not None:
            return spooled
        try:
            return self.client.get(index=self.index, id=alert_id)["_source"]["alert"]
        except NotFoundError:
            return None
        except TransportError as exc:
            raise _unreachable(exc) from None

    def replay(self) -> int:
        """Send spooled alerts to ES; returns how many left the spool (stops at the first failure)."""
        moved = 0
        for rule_id, group_key, last_epoch, alert in self.spool.alerts() if self.spool else []:
            try:
                self._put(alert, rule_id=rule_id, group_key=group_key, last_epoch=last_epoch)
            except TransportError:
                break
            self.spool.remove_alert(alert["id"])  # type: ignore[union-attr]
            moved += 1
        return moved

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
        except TransportError as exc:
            raise _unreachable(exc) from None
        return out

    def close(self) -> None:
        if self.spool is not None:
            self.spool.close()
        self.client.close()
