"""Prometheus metrics of the service (text exposition at ``/metrics``).

With ``--workers N`` uvicorn forks N processes; ``shuwei serve`` then sets
``PROMETHEUS_MULTIPROC_DIR`` so every worker's counters are summed at scrape time.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

REQUESTS = Counter("shuwei_http_requests_total", "HTTP requests by route and status",
                   ["method", "route", "status"])
LATENCY = Histogram("shuwei_http_request_duration_seconds", "HTTP request latency by route",
                    ["method", "route"],
                    buckets=(0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5, 10))
EVENTS_INGESTED = Counter("shuwei_events_ingested_total", "Audit events by ingest outcome",
                          ["outcome"])
MASK_DECISIONS = Counter("shuwei_mask_decisions_total", "Masking decisions per field by strategy",
                         ["strategy"])
MASK_RECORDS = Counter("shuwei_masked_records_total", "Records returned masked by /v1/mask")
SELF_AUDIT = Counter("shuwei_self_audit_events_total", "Audit events the service emitted about itself",
                     ["delivery"])


class AlertStateCollector(Collector):
    """Alerts by state, read from the alert store at scrape time (a gauge nobody has to keep in sync)."""

    def __init__(self, counts: Callable[[], dict[str, int]]) -> None:
        self._counts = counts

    def collect(self) -> Iterable[GaugeMetricFamily]:
        family = GaugeMetricFamily("shuwei_alerts", "Alerts by status", labels=["status"])
        try:
            counts = self._counts()
        except Exception:  # the store is not ready: expose no samples rather than fail the scrape
            counts = {}
        for status, n in sorted(counts.items()):
            family.add_metric([status], n)
        yield family


def render(extra: Collector | None) -> bytes:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        from prometheus_client import REGISTRY as registry
    if extra is None:
        return generate_latest(registry)
    local = CollectorRegistry()
    local.register(extra)
    return generate_latest(registry) + generate_latest(local)
