"""Column-level precision and recall per entity on labelled synthetic data (clean, messy, headerless, decoys)."""

from __future__ import annotations

from collections import Counter

import pyarrow as pa
import pytest

from classifier.classify import Classifier
from classifier.columns import ColumnTally
from classifier.policy import ENTITY_IDS
from tests.classifier.labelled import build


def _classify(clf: Classifier, seed: int) -> list[tuple[str, str | None, str | None]]:
    cols = build(seed)
    tallies = {}
    for name, values, _ in cols:
        tallies[name] = ColumnTally()
        clf.scanner.update(tallies[name], pa.array(values, type=pa.string()))
    inputs = clf.column_inputs([c[0] for c in cols], tallies, {c[0]: c[1] for c in cols}, 400)
    for col in inputs:
        col.named_by_header = not col.name.startswith("column_")
    graded = clf.grade("labelled", inputs, 400)
    return [(name, expected, out["entity"]) for (name, _, expected), out in zip(cols, graded["columns"])]


@pytest.fixture(scope="module")
def outcomes() -> list[tuple[str, str | None, str | None]]:
    from classifier.settings import load_settings

    clf = Classifier.from_settings(load_settings(environ={}))
    return [o for seed in (1, 2, 3) for o in _classify(clf, seed)]


def test_every_entity_is_covered(outcomes):
    assert {e for _, e, _ in outcomes if e} == set(ENTITY_IDS)


@pytest.mark.parametrize("entity", ENTITY_IDS)
def test_precision_and_recall_per_entity(outcomes, entity):
    tp = sum(1 for _, exp, got in outcomes if exp == entity and got == entity)
    fp = [name for name, exp, got in outcomes if got == entity and exp != entity]
    fn = [name for name, exp, got in outcomes if exp == entity and got != entity]
    precision = tp / (tp + len(fp)) if tp + len(fp) else 0.0
    recall = tp / (tp + len(fn))
    assert precision >= 0.95, f"{entity}: false positives on {fp}"
    assert recall >= 0.9, f"{entity}: missed {fn}"


def test_decoys_stay_unclassified(outcomes):
    wrong = Counter(got for _, exp, got in outcomes if exp is None and got is not None)
    assert not wrong, f"decoy columns classified as {dict(wrong)}"


def test_reasons_explain_rejected_decoys(classifier):
    cols = build(5, n=200)
    by_name = {name: values for name, values, _ in cols}
    tallies = {}
    for name in ("serial_no", "order_no", "created_at"):
        tallies[name] = ColumnTally()
        classifier.scanner.update(tallies[name], pa.array(by_name[name], type=pa.string()))
    inputs = classifier.column_inputs(list(tallies), tallies, {n: by_name[n] for n in tallies}, 200)
    reasons = {c["name"]: " ".join(c["reasons"]) for c in classifier.grade("d", inputs, 200)["columns"]}
    assert "CN_RESIDENT_ID rejected" in reasons["serial_no"]
    assert "sequential" in reasons["order_no"]
    assert "birth context" in reasons["created_at"]
