"""From column tallies to the graded contract object; and on-the-fly classification of records."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import pyarrow as pa

from classifier.catalog import FieldGrade
from classifier.columns import ColumnScanner, ColumnTally
from classifier.decide import (ColumnInput, decide_ambiguous, decide_birth_from_id, decide_column,
                              decide_split_coordinates)
from classifier.policy import ENTITY_IDS, Policy
from classifier.profile import is_sequential, profile
from classifier.recognizers import all_recognizers
from classifier.settings import Settings, get_settings


class Classifier:
    """Recognizers + policy for one scan; build one per scan so policy edits apply next time."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.recognizers = all_recognizers()
        allow = {e: policy.allowed_values(e) for e in ENTITY_IDS}
        self.scanner = ColumnScanner(self.recognizers, allow)

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> Classifier:
        return cls(Policy.from_settings(settings or get_settings()))

    def grade(self, dataset: str, columns: list[ColumnInput], rows_total: int | None) -> dict[str, Any]:
        """Decide each column, grade it, then the dataset (就高原则 + escalation)."""
        decisions = [decide_column(c, self.recognizers, self.policy, dataset) for c in columns]
        decide_ambiguous(columns, decisions, self.policy, dataset)
        decide_split_coordinates(columns, decisions, self.policy, dataset)
        decide_birth_from_id(columns, decisions, self.policy, dataset)
        out: list[dict[str, Any]] = []
        for col, dec in zip(columns, decisions):
            grade, category = self.policy.entity_grade(dec.entity, dataset)
            out.append({"name": col.name, "entity": dec.entity, "category": category, "grade": grade,
                        "confidence": dec.confidence, "hit_ratio": dec.hit_ratio,
                        "evidence": dec.evidence, "reasons": dec.reasons, "profile": col.profile})
        grade, fired = self.policy.dataset_grade([(c["entity"], c["grade"]) for c in out])
        return {"grade": grade, "escalations": fired,
                "important_data_candidate": self.policy.important_data_candidate(grade, rows_total),
                "columns": out}

    def column_inputs(self, names: list[str], tallies: dict[str, ColumnTally],
                      sample: dict[str, list[Any]], rows_total: int, *,
                      headerless: bool = False) -> list[ColumnInput]:
        return [ColumnInput(name=n, tally=tallies.get(n, ColumnTally()),
                            profile=profile(sample.get(n, [])),
                            sequential=is_sequential(sample.get(n, []), rows_total),
                            named_by_header=not headerless, sample=sample.get(n, [])) for n in names]


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


@lru_cache(maxsize=4)
def _cached(policy_dir: str, stamp: tuple[tuple[int, int], ...]) -> Classifier:
    return Classifier(Policy.load(Path(policy_dir)))


def _classifier(settings: Settings) -> Classifier:
    """Reuse one classifier per policy version: callers classify on every request."""
    policy_dir = Path(settings.policy_dir)
    try:
        stamp = tuple((st.st_mtime_ns, st.st_size) for st in
                      ((policy_dir / n).stat() for n in ("taxonomy.yaml", "classification.yaml")))
    except OSError:
        return Classifier(Policy.load(policy_dir))  # raises InputError naming the missing file
    return _cached(str(policy_dir), stamp)


def classify_records(records: list[dict[str, Any]], dataset: str = "adhoc",
                     settings: Settings | None = None) -> dict[str, FieldGrade]:
    """Classify records on the fly (no catalog write): field → FieldGrade (``reviewed`` is False)."""
    clf = _classifier(settings or get_settings())
    names: list[str] = []
    for rec in records:
        for key in rec:
            if key not in names:
                names.append(key)
    sample = {n: [_text(r.get(n)) for r in records] for n in names}
    tallies: dict[str, ColumnTally] = {}
    for n in names:
        tallies[n] = ColumnTally()
        clf.scanner.update(tallies[n], pa.array(sample[n], type=pa.string()))
    graded = clf.grade(dataset, clf.column_inputs(names, tallies, sample, len(records)), len(records))
    return {c["name"]: FieldGrade(c["entity"], c["grade"], c["category"], False)
            for c in graded["columns"]}
