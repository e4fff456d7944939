"""Grading policy from YAML: taxonomy, thresholds, escalation (汇聚效应), important-data rule, tuning.

Grades and categories are policy, entity ids are contract: an unknown id in a policy file is an
error naming the file, so a typo never silently disables a rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from classifier.errors import InputError, validation_error
from classifier.settings import Settings

GRADES = ("L1", "L2", "L3", "L4")
ENTITY_IDS = (
    "CN_RESIDENT_ID", "CN_PASSPORT", "CN_HK_MACAO_PERMIT", "CN_BANK_CARD", "MEDICAL_DIAGNOSIS",
    "GEO_COORDINATE", "PERSON_NAME", "CN_MOBILE", "ADDRESS", "EMAIL_ADDRESS", "DATE_OF_BIRTH",
    "CN_LICENSE_PLATE", "CN_LANDLINE", "IP_ADDRESS", "MAC_ADDRESS", "CN_USCC", "ORGANIZATION_NAME",
)


def grade_rank(grade: str) -> int:
    return GRADES.index(grade)


def max_grade(grades: list[str]) -> str:
    return max(grades, key=grade_rank) if grades else "L1"


def _check_entity(value: str) -> str:
    if value not in ENTITY_IDS:
        raise ValueError(f"unknown entity id '{value}'")
    return value


def _check_grade(value: str) -> str:
    if value not in GRADES:
        raise ValueError(f"unknown grade '{value}' (use L1..L4)")
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EntityClass(_Strict):
    name: str
    grade: str
    category: str | None

    _grade = field_validator("grade")(classmethod(lambda cls, v: _check_grade(v)))


class Unclassified(_Strict):
    grade: str = "L1"
    category: str | None = None


class Taxonomy(_Strict):
    grades: dict[str, dict[str, Any]]
    entities: dict[str, EntityClass]
    unclassified: Unclassified = Unclassified()

    @field_validator("entities")
    @classmethod
    def _all_ids(cls, value: dict[str, EntityClass]) -> dict[str, EntityClass]:
        for key in value:
            _check_entity(key)
        missing = set(ENTITY_IDS) - set(value)
        if missing:
            raise ValueError(f"entities missing from the taxonomy: {', '.join(sorted(missing))}")
        return value


class Detection(_Strict):
    min_hit_ratio: float = Field(0.6, gt=0, le=1)
    min_hit_ratio_named: float = Field(0.3, gt=0, le=1)


class EscalationRule(_Strict):
    name: str
    when_all: list[str]
    raise_to: str

    _entities = field_validator("when_all")(classmethod(lambda cls, v: [_check_entity(e) for e in v]))
    _grade = field_validator("raise_to")(classmethod(lambda cls, v: _check_grade(v)))


class ImportantDataRule(_Strict):
    name: str
    min_rows: int = Field(ge=0)
    min_grade: str = "L4"

    _grade = field_validator("min_grade")(classmethod(lambda cls, v: _check_grade(v)))


class DatasetTuning(_Strict):
    suppress: list[str] = []
    grade_overrides: dict[str, str] = {}

    _entities = field_validator("suppress")(classmethod(lambda cls, v: [_check_entity(e) for e in v]))

    @field_validator("grade_overrides")
    @classmethod
    def _overrides(cls, value: dict[str, str]) -> dict[str, str]:
        return {_check_entity(k): _check_grade(v) for k, v in value.items()}


class ClassificationRules(_Strict):
    detection: Detection = Detection()
    escalation: list[EscalationRule] = []
    important_data: list[ImportantDataRule] = []
    allow_values: dict[str, list[str]] = {}
    grade_overrides: dict[str, str] = {}
    datasets: dict[str, DatasetTuning] = {}

    @field_validator("allow_values")
    @classmethod
    def _allow(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for key in value:
            if key != "*":
                _check_entity(key)
        return value

    @field_validator("grade_overrides")
    @classmethod
    def _overrides(cls, value: dict[str, str]) -> dict[str, str]:
        return {_check_entity(k): _check_grade(v) for k, v in value.items()}


def _load(path: Path, model: type[BaseModel]) -> Any:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise InputError(str(path), f"cannot read policy file: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise InputError(where, f"invalid YAML: {getattr(exc, 'problem', exc)}") from None
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        field, msg = validation_error(exc)
        raise InputError(str(path), f"field '{field}': {msg}") from None


@dataclass(frozen=True)
class Policy:
    """Everything grading needs; loaded once per scan so edits apply on the next scan."""

    taxonomy: Taxonomy
    rules: ClassificationRules

    @classmethod
    def load(cls, policy_dir: Path) -> Policy:
        return cls(_load(policy_dir / "taxonomy.yaml", Taxonomy),
                   _load(policy_dir / "classification.yaml", ClassificationRules))

    @classmethod
    def from_settings(cls, settings: Settings) -> Policy:
        return cls.load(Path(settings.policy_dir))

    def suppressed(self, dataset: str) -> set[str]:
        tuning = self.rules.datasets.get(dataset)
        return set(tuning.suppress) if tuning else set()

    def allowed_values(self, entity: str) -> set[str]:
        return set(self.rules.allow_values.get(entity, ())) | set(self.rules.allow_values.get("*", ()))

    def entity_grade(self, entity: str | None, dataset: str) -> tuple[str, str | None]:
        """(grade, category) of a field holding ``entity``; per-dataset overrides win over global ones."""
        if entity is None:
            return self.taxonomy.unclassified.grade, self.taxonomy.unclassified.category
        klass = self.taxonomy.entities[entity]
        grade = klass.grade
        grade = self.rules.grade_overrides.get(entity, grade)
        tuning = self.rules.datasets.get(dataset)
        if tuning:
            grade = tuning.grade_overrides.get(entity, grade)
        return grade, klass.category

    def dataset_grade(self, fields: list[tuple[str | None, str]]) -> tuple[str, list[str]]:
        """就高原则 then escalation: (grade, names of the escalation rules that raised it)."""
        grade = max_grade([g for _, g in fields])
        present = {e for e, _ in fields if e}
        fired = []
        for rule in self.rules.escalation:
            if set(rule.when_all) <= present and grade_rank(rule.raise_to) > grade_rank(grade):
                grade = rule.raise_to
                fired.append(rule.name)
        return grade, fired

    def important_data_candidate(self, grade: str, rows_total: int | None) -> bool:
        return any(rows_total is not None and rows_total >= r.min_rows
                   and grade_rank(grade) >= grade_rank(r.min_grade) for r in self.rules.important_data)
