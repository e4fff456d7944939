"""From column tallies to the graded contract object; and on-the-fly classification of records."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import pyarrow as pa

from classifier.catalog import FieldGrade
from classifier.columns import ColumnScanner, ColumnTally, EmbeddedTally
from classifier.flatten import Expander, Limits, flat_columns, flatten_record, parents
from classifier.textcues import CONTEXT_ENTITIES
from classifier.decide import (ColumnInput, Decision, decide_ambiguous, decide_birth_from_id, decide_column,
                               decide_split_coordinates)
from classifier.policy import ENTITY_IDS, Policy, grade_rank
from classifier.profile import is_sequential, profile
from classifier.recognizers import all_recognizers
from classifier.settings import Settings, get_settings


class Classifier:
    """Recognizers + policy for one scan; build one per scan so policy edits apply next time."""

    def __init__(self, policy: Policy, embedded_min_values: int = 1) -> None:
        self.policy = policy
        self.embedded_min_values = embedded_min_values
        self.recognizers = all_recognizers()
        allow = {e: policy.allowed_values(e) for e in ENTITY_IDS}
        self.scanner = ColumnScanner(self.recognizers, allow)

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> Classifier:
        return cls(Policy.from_settings(settings or get_settings()))

    def grade(self, dataset: str, columns: list[ColumnInput], rows_total: int | None) -> dict[str, Any]:
        """Decide each column, grade it, then the dataset (就高原则 + escalation)."""
        decisions = [as_text(c, decide_column(c, self.recognizers, self.policy, dataset)) for c in columns]
        decide_ambiguous(columns, decisions, self.policy, dataset)
        decide_split_coordinates(columns, decisions, self.policy, dataset)
        decide_birth_from_id(columns, decisions, self.policy, dataset)
        out: list[dict[str, Any]] = []
        for col, dec in zip(columns, decisions):
            grade, category = self.policy.entity_grade(dec.entity, dataset)
            entry = {"name": col.name, "entity": dec.entity, "category": category, "grade": grade,
                     "confidence": dec.confidence, "hit_ratio": dec.hit_ratio,
                     "evidence": dec.evidence, "reasons": dec.reasons, "profile": col.profile}
            embedded = embedded_counts(col, dec.entity)
            if embedded:
                grade_embedded(entry, embedded, col.tally.nonblank, self.policy, dataset,
                               self.embedded_min_values)
            out.append(entry)
        grade, fired = self.policy.dataset_grade([(c["entity"], c["grade"]) for c in out])
        out = with_parents(out)
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


# Whole values that validate as one of these count as embedded in a column of mixed values (a
# materials[].number holding ID and permit numbers); weaker pattern-only entities do not.
_CHECKED = frozenset({"CN_RESIDENT_ID", "CN_BANK_CARD", "CN_MOBILE", "CN_PASSPORT", "CN_HK_MACAO_PERMIT",
                      "EMAIL_ADDRESS"})
_SERIAL_PRONE = frozenset({"CN_MOBILE", "CN_BANK_CARD"})


def embedded_counts(col: ColumnInput, entity: str | None) -> dict[str, EmbeddedTally]:
    """Spans found in text values, plus whole values of checked entities other than the column's
    own — unless most values of that shape fail validation (look-alike serials) or are sequential."""
    out = {e: EmbeddedTally(t.values, list(t.evidence)) for e, t in col.tally.embedded.items() if e != entity}
    for e, t in col.tally.entities.items():
        if e == entity or e not in _CHECKED or t.hits == 0 or t.hits * 2 < t.matches:
            continue
        if e in _SERIAL_PRONE and col.sequential:
            continue
        et = out.setdefault(e, EmbeddedTally())
        et.values += t.hits
        et.evidence = (et.evidence + t.evidence)[:3]
    return out


def as_text(col: ColumnInput, dec: Decision) -> Decision:
    """Free text can fit the loose shape of a whole address or name (a ticket naming a street); when
    a third of such values also hold identifiers, the column is text, graded by what is inside."""
    if dec.entity not in CONTEXT_ENTITIES:
        return dec
    inside = max((t.values for e, t in col.tally.embedded.items() if e not in CONTEXT_ENTITIES), default=0)
    if inside * 3 < max(col.tally.nonblank, 1):
        return dec
    return Decision(None, 0.9, 0.0, [], [f"free text: values fit the {dec.entity} shape but "
                                         f"{inside} of {col.tally.nonblank} hold identifiers"])


def grade_embedded(entry: dict[str, Any], embedded: dict[str, EmbeddedTally], nonblank: int,
                   policy: Policy, dataset: str, min_values: int) -> None:
    """Text with identifiers inside: ``embedded`` counts, and the grade of the highest entity found
    in at least ``min_values`` values (就高: never below the column's own entity)."""
    n = max(nonblank, 1)
    found = sorted(embedded.items(), key=lambda kv: -kv[1].values)
    entry["embedded"] = [{"entity": e, "values": t.values, "share": round(t.values / n, 4)} for e, t in found]
    counted = [(e, t) for e, t in found if t.values >= min_values]
    if not counted:
        entry["reasons"] = [*entry["reasons"], f"embedded entities below classify.embedded_min_values={min_values}"]
        return
    graded = [(policy.entity_grade(e, dataset), e, t) for e, t in counted]
    (grade, category), entity, top = max(graded, key=lambda g: grade_rank(g[0][0]))
    if grade_rank(grade) <= grade_rank(entry["grade"]):
        return
    entry["grade"], entry["category"] = grade, category
    entry["evidence"] = [*entry["evidence"], *top.evidence][:3]
    entry["reasons"] = [*(r for r in entry["reasons"] if r != "no entity reached the hit-ratio threshold"),
                        f"embedded {entity} in {top.values} of {nonblank} values"]
    if entry["entity"] is None:
        entry["confidence"] = round(min(0.99, 0.7 + 0.3 * top.values / n), 2)


def with_parents(columns: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each nested parent (``applicant``, ``materials``, ``payload``) listed before its first field,
    graded the highest of its fields; a parent that also holds plain values keeps its own entry."""
    by_name = {c["name"]: c for c in columns}
    children: dict[str, list[dict[str, Any]]] = {}
    for col in columns:
        for parent in parents(col["name"]):
            children.setdefault(parent, []).append(col)
    if not children:
        return columns
    out: list[dict[str, Any]] = []
    placed: set[str] = set()
    for col in columns:
        for parent in reversed(list(parents(col["name"]))):
            if parent in placed:
                continue
            placed.add(parent)
            kids = children[parent]
            own = by_name.get(parent)
            grades = [k["grade"] for k in kids] + ([own["grade"]] if own else [])
            top = max(grades, key=grade_rank)
            reason = f"nested: highest of {len(kids)} fields"
            if own is not None:
                out.append({**own, "grade": top, "reasons": [*own["reasons"], reason]})
            else:
                out.append({"name": parent, "entity": None, "category": None, "grade": top,
                            "confidence": 0.99, "hit_ratio": 0.0, "evidence": [], "reasons": [reason],
                            "profile": {"type": "nested"}})
        if col["name"] not in placed:
            placed.add(col["name"])
            out.append(col)
    return out


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
    sample = flat_columns(records)
    if sample is None:
        expander = Expander(Limits())
        flat = [flatten_record(r, expander) for r in records]
        sample = {n: [_text(v) for f in flat for v in f.get(n, [None])]
                  for n in dict.fromkeys(p for f in flat for p in f)}
    names = list(sample)
    tallies: dict[str, ColumnTally] = {}
    for n in names:
        tallies[n] = ColumnTally()
        clf.scanner.update(tallies[n], pa.array(sample[n], type=pa.string()), remember=True)  # masking follows
    graded = clf.grade(dataset, clf.column_inputs(names, tallies, sample, len(records)), len(records))
    return {c["name"]: FieldGrade(c["entity"], c["grade"], c["category"], False,
                                  tuple(e["entity"] for e in c.get("embedded", ())))
            for c in graded["columns"]}
