"""Graded-protection evidence (等保 2.0, 密评, 数据分类分级) assembled from what the suite records."""

from soc.evidence.controls import ControlMap, load_controls
from soc.evidence.report import build_report, render_markdown

__all__ = ["ControlMap", "build_report", "load_controls", "render_markdown"]
