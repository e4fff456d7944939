"""Alerts: grouping of detections, severity, lifecycle (new → acknowledged → in_progress → closed)."""

from soc.alerts.manager import AlertError, AlertManager
from soc.alerts.severity import SEVERITIES, severity_for

__all__ = ["AlertError", "AlertManager", "SEVERITIES", "severity_for"]
