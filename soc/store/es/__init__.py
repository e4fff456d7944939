"""Elasticsearch as the scale-out SOC store: events in daily indices, alerts in their own index.

``EsEventStore``/``EsAlertStore`` implement the protocols of ``soc/store/base.py``; pick them with
``soc.store: elasticsearch`` and configure the cluster in the ``es`` section (config.py).
"""

from soc.store.es.alerts import EsAlertStore
from soc.store.es.config import EsConfig, es_config, make_client
from soc.store.es.events import EsEventStore

__all__ = ["EsAlertStore", "EsConfig", "EsEventStore", "es_config", "make_client"]
