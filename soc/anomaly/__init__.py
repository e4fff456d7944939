"""Anomaly detectors configured in policies/anomaly.yaml (volume, first L4 access, dormant account)."""

from soc.anomaly.config import AnomalyConfig, load_anomaly_config
from soc.anomaly.detectors import AnomalyDetector

__all__ = ["AnomalyConfig", "AnomalyDetector", "load_anomaly_config"]
