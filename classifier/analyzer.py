"""A stock Presidio ``AnalyzerEngine`` over Shuwei's recognizers, with no NLP model (nothing downloaded).

Used for free text (per cell) and as the baseline the column engine is benchmarked against.
"""

from __future__ import annotations

from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
from presidio_analyzer.nlp_engine import NoOpNlpEngine

from classifier.recognizers import all_recognizers
from classifier.recognizers.base import LANGUAGE


def build_analyzer() -> AnalyzerEngine:
    registry = RecognizerRegistry(supported_languages=[LANGUAGE])
    for rec in all_recognizers():
        registry.add_recognizer(rec)
    nlp = NoOpNlpEngine(models=[{"lang_code": LANGUAGE, "model_name": "noop"}])
    return AnalyzerEngine(registry=registry, nlp_engine=nlp, supported_languages=[LANGUAGE])
