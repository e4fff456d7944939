"""Enrichment at ingest from the classifier's catalog: data_level, sensitive_fields, categories,
off_hours. Values an emitter sent under these names are replaced, never trusted (contract)."""

from __future__ import annotations

import time as _time
from datetime import datetime, timezone
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from soc.config import WorkingHours

ENRICHED = ("data_level", "sensitive_fields", "categories", "off_hours")
_LEVELS = ("L1", "L2", "L3", "L4")


class GradeSource(Protocol):
    """What enrichment needs from classifier.catalog.Catalog."""

    def field_grades(self, dataset: str) -> dict[str, Any] | None: ...
    def dataset_grade(self, dataset: str) -> str | None: ...


def _rank(grade: str | None) -> int:
    return _LEVELS.index(grade) if grade in _LEVELS else -1


class Enricher:
    """Adds the enrichment fields in place; catalog lookups are cached per dataset for ``ttl``
    seconds so a reviewed grade reaches new events without a restart."""

    def __init__(self, catalog: GradeSource | None, hours: WorkingHours, tz: str,
                 ttl: float = 60.0) -> None:
        self._catalog = catalog
        self._hours = hours
        self._tz = ZoneInfo(tz)
        self._ttl = ttl
        self._cache: dict[str, tuple[float, dict[str, Any] | None, str | None, dict[Any, Any]]] = {}
        self._holidays = frozenset(hours.holidays)
        self._days = frozenset(hours.days)
        self._minutes: dict[int, bool] = {}

    def _lookup(self, dataset: str) -> tuple[dict[str, Any] | None, str | None, dict[Any, Any]]:
        """Grades, dataset grade and the memo of derived values for ``dataset``; the memo is
        renewed with the grades, so a reviewed grade is never served from it."""
        now = _time.monotonic()
        hit = self._cache.get(dataset)
        if hit is not None and now - hit[0] < self._ttl:
            return hit[1], hit[2], hit[3]
        grades = self._catalog.field_grades(dataset) if self._catalog else None
        level = self._catalog.dataset_grade(dataset) if self._catalog and grades is not None else None
        memo: dict[Any, Any] = {}
        self._cache[dataset] = (now, grades, level, memo)
        return grades, level, memo

    def dataset_level(self, dataset: str) -> str | None:
        """The catalog grade of the whole dataset (cached like the field grades)."""
        return self._lookup(dataset)[1]

    def off_hours(self, ts_epoch: float) -> bool:
        # Working hours are given to the minute, so the answer is the same for a whole minute:
        # cache it (a day has 1,440 minutes, a busy exchange 10^6 events).
        minute = int(ts_epoch // 60)
        hit = self._minutes.get(minute)
        if hit is None:
            local = datetime.fromtimestamp(minute * 60, timezone.utc).astimezone(self._tz)
            t = local.time()
            hit = (local.isoweekday() not in self._days or local.date() in self._holidays
                   or not (self._hours.start <= t < self._hours.end))
            if len(self._minutes) > 100_000:
                self._minutes.clear()
            self._minutes[minute] = hit
        return hit

    def enrich(self, event: dict[str, Any], ts_epoch: float) -> None:
        for name in ENRICHED:
            event.pop(name, None)
        event["off_hours"] = self.off_hours(ts_epoch)
        dataset = event.get("dataset")
        if not dataset:
            return
        grades, dataset_level, memo = self._lookup(dataset)
        if grades is None:  # dataset unknown to the catalog: data_level stays absent
            return
        fields = event.get("fields")
        # Traffic touches the same few field sets of a dataset over and over: derive once.
        key = tuple(fields) if fields else ()
        derived = memo.get(key)
        if derived is None:
            derived = _derive(grades, dataset_level, fields)
            if len(memo) >= _MEMO_LIMIT:
                memo.clear()
            memo[key] = derived
        sensitive, level, categories = derived
        event["sensitive_fields"] = list(sensitive)  # each event gets lists of its own
        if level is not None:
            event["data_level"] = level
        event["categories"] = list(categories)


_MEMO_LIMIT = 4096  # distinct field sets remembered per dataset


def _derive(grades: dict[str, Any], dataset_level: str | None,
            fields: list[str] | None) -> tuple[tuple[str, ...], str | None, tuple[str, ...]]:
    """sensitive_fields, data_level and categories of ``fields`` of a known dataset."""
    touched = [grades[f] for f in fields if f in grades] if fields else list(grades.values())
    if fields:
        # Fields the catalog does not know cannot lower the level: fall back to the dataset's.
        level = max((g.grade for g in touched), key=_rank, default=dataset_level)
        if len(touched) < len(fields) and _rank(dataset_level) > _rank(level):
            level = dataset_level
        sensitive = tuple(f for f in fields if f in grades and _rank(grades[f].grade) >= 2)
    else:
        level = dataset_level
        sensitive = ()
    return sensitive, level, tuple(sorted({g.category for g in touched if g.category}))
