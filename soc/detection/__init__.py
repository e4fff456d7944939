"""Sigma detection: rule packs (pySigma), streaming evaluation, correlation, hunt.

Public API (docs/spec and brief interfaces): ``RulePack.load(path)``,
``StreamingDetector(pack, placeholders=...).process(event, line)``, ``hunt(pack, source,
backend=...)`` and ``Match``. ``CorrelationEngine`` is exported for stores that produce base
matches themselves (Elasticsearch) and must window them the same way.
"""

from soc.detection.correlation import CorrelationEngine
from soc.detection.hunt import HuntResult, hunt
from soc.detection.match import Match
from soc.detection.pack import RuleLoadError, RulePack
from soc.detection.streaming import MatchAssembler, StreamingDetector

__all__ = ["CorrelationEngine", "HuntResult", "Match", "MatchAssembler", "RuleLoadError",
           "RulePack", "StreamingDetector", "hunt"]
