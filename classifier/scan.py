"""Scan sources into the catalog: read (streaming), sample or check every cell, grade, record.

All sources are scanned before anything is written, and the catalog write is one transaction: a
bad input anywhere means no partial scan is recorded.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from classifier import audit, progress
from classifier.catalog import Catalog
from classifier.classify import Classifier
from classifier.columns import ColumnTally
from classifier.errors import InputError, validation_error
from classifier.flatten import Expander, Limits
from classifier.policy import Policy
from classifier.readers import ReadOptions, Source, open_sources
from classifier.sampling import Reservoir
from classifier.settings import Settings
from classifier.whoami import current_user

# --full folds batches into the tallies in chunks of about this size: Arrow compiles each RE2
# pattern per call, so fewer, larger calls are much faster; memory stays bounded by the chunk.
FULL_CHUNK_BYTES = 64 << 20

CONTRACT_KEYS = ("dataset", "source", "grade", "important_data_candidate", "rows_scanned", "rows_total")
COLUMN_KEYS = ("name", "entity", "category", "grade", "confidence", "hit_ratio", "evidence", "reasons")


class ClassifyConfig(BaseModel):
    """The ``classify:`` section of the configuration file (``SHUWEI_CLASSIFY__SAMPLE_SIZE`` …)."""

    model_config = ConfigDict(extra="forbid")
    sample_size: int = Field(3000, ge=10)
    seed: int = 20240601
    max_cell_bytes: int = Field(1 << 20, ge=1024)
    batch_rows: int = Field(65_536, ge=1)
    csv_header: str = Field("auto", pattern="^(auto|yes|no)$")
    embedded_min_values: int = Field(1, ge=1)  # values with a span before an embedded entity grades a column
    max_depth: int = Field(8, ge=1)            # nested levels flattened into paths
    max_fields: int = Field(1000, ge=1)        # distinct nested paths per dataset

    @classmethod
    def from_settings(cls, settings: Settings) -> ClassifyConfig:
        try:
            return cls.model_validate(settings.section("classify"))
        except ValidationError as exc:
            field, msg = validation_error(exc)
            raise InputError(f"config classify.{field}", msg) from None


@dataclass
class ScanOutcome:
    report: dict[str, Any]   # the catalog's effective view after the scan
    skipped: bool            # unchanged since the last scan: not re-read


def _policy_digest(policy_dir: Path) -> str:
    digest = hashlib.sha256()
    for name in ("taxonomy.yaml", "classification.yaml"):
        digest.update((policy_dir / name).read_bytes())
    return digest.hexdigest()[:16]


def scan_one(source: Source, clf: Classifier, cfg: ClassifyConfig, *, full: bool) -> dict[str, Any]:
    """Read one dataset to the end: every cell (``full``) or a reservoir sample over the stream."""
    _, batches, has_header = source.open()
    reservoir = Reservoir(cfg.sample_size, cfg.seed)
    tallies: dict[str, ColumnTally] = {}
    pending: list[pa.RecordBatch] = []
    expander = Expander(Limits(cfg.max_depth, cfg.max_fields))
    seen: dict[str, None] = {}

    def fold() -> None:
        for name in dict.fromkeys(n for b in pending for n in b.schema.names):
            chunks = [_strings(b.column(name)) for b in pending if name in b.schema.names]
            clf.scanner.update(tallies.setdefault(name, ColumnTally()), pa.chunked_array(chunks, pa.string()))
        pending.clear()

    for raw in batches:
        batch = expander.expand(raw)
        seen.update(dict.fromkeys(batch.schema.names))
        reservoir.offer(batch)
        progress.advance(f"scan {source.dataset} (rows)", batch.num_rows)
        if full:
            pending.append(batch)
            if sum(b.nbytes for b in pending) >= FULL_CHUNK_BYTES:
                fold()
    if pending:
        fold()
    names = list(seen)
    sample = {n: _flat(reservoir.column(n)) for n in names}
    if not full:
        for n in names:
            tallies[n] = ColumnTally()
            clf.scanner.update(tallies[n], pa.array([None if v is None else str(v) for v in sample[n]],
                                                    type=pa.string()))
    rows_total = reservoir.seen
    inputs = clf.column_inputs(names, tallies, sample, rows_total, headerless=not has_header)
    graded = clf.grade(source.dataset, inputs, rows_total)
    _note_limits(graded["columns"], expander, cfg)
    return {"dataset": source.dataset, "source": source.source, "grade": graded["grade"],
            "important_data_candidate": graded["important_data_candidate"],
            "rows_scanned": rows_total if full else len(reservoir.rows), "rows_total": rows_total,
            "columns": graded["columns"], "escalations": graded["escalations"], "full": full,
            "headerless": not has_header}


def _strings(column: pa.Array) -> pa.Array:
    """Array paths (``materials[].number``) hold lists: their elements are the values."""
    if pa.types.is_list(column.type):
        return pc.list_flatten(column)
    return column


def _flat(values: list[Any]) -> list[Any]:
    out: list[Any] = []
    for v in values:
        if isinstance(v, list):
            out.extend(v)
        else:
            out.append(v)
    return out


def _note_limits(columns: list[dict[str, Any]], expander: Expander, cfg: ClassifyConfig) -> None:
    """Depth and width limits, and JSON-looking text that does not parse, in the columns' reasons."""
    notes = expander.notes
    for col in columns:
        name = col["name"]
        if name in notes.deep:
            col["reasons"].append(f"nested deeper than classify.max_depth={cfg.max_depth}: "
                                  f"{notes.deep[name]} values kept as JSON text")
        if name in notes.overflow:
            col["reasons"].append(f"more than classify.max_fields={cfg.max_fields} paths: "
                                  f"{notes.overflow[name]} values folded into this field")
        if name in notes.broken:
            col["reasons"].append(f"{notes.broken[name]} values look like JSON but do not parse: "
                                  "scanned as text")


def run_scan(sources: list[str], settings: Settings, *, full: bool = False, force: bool = False,
             sample_size: int | None = None) -> list[ScanOutcome]:
    cfg = ClassifyConfig.from_settings(settings)
    if sample_size is not None:
        cfg.sample_size = sample_size
    policy = Policy.from_settings(settings)
    clf = Classifier(policy, cfg.embedded_min_values)
    options = ReadOptions(max_cell_bytes=cfg.max_cell_bytes, batch_rows=cfg.batch_rows,
                          header=cfg.csv_header)
    mode = {"policy": _policy_digest(Path(settings.policy_dir)),
            "mode": "full" if full else f"sample:{cfg.sample_size}:{cfg.seed}"}
    catalog = Catalog.open(settings)
    try:
        plan: list[tuple[Source, dict[str, Any], dict[str, Any] | None]] = []
        for text in sources:
            for source in open_sources(text, options):
                fingerprint = {**source.fingerprint(), **mode}
                unchanged = not force and catalog.latest_fingerprint(source.dataset, source.source) == fingerprint
                report = None if unchanged else scan_one(source, clf, cfg, full=full)
                if report is not None:
                    report["fingerprint"] = fingerprint
                plan.append((source, fingerprint, report))
        catalog.record_scans([r for _, _, r in plan if r is not None])
        user = current_user()
        outcomes = []
        for source, _, report in plan:
            if report is not None:
                audit.emit(audit.make_event(
                    "classify_review", user=user, dataset=source.dataset,
                    fields=[c["name"] for c in report["columns"]], rows=report["rows_scanned"],
                    extra={"operation": "scan", "source": source.source, "full": full,
                           "grade": report["grade"]}), Path(settings.data_dir))
            eff = catalog.effective(source.dataset)
            assert eff is not None
            outcomes.append(ScanOutcome(eff, report is None))
        return outcomes
    finally:
        catalog.close()


def contract_object(report: dict[str, Any]) -> dict[str, Any]:
    """Exactly the contract's keys; a review shows up in ``reasons`` (and drift with it)."""
    obj = {k: report[k] for k in CONTRACT_KEYS}
    columns = []
    for col in report["columns"]:
        out = {k: col[k] for k in COLUMN_KEYS}
        if col.get("embedded"):
            out["embedded"] = col["embedded"]
        if col.get("reviewed"):
            rev = col["review"]
            out["reasons"] = [*col["reasons"], f"reviewed by {rev['reviewer']} ({rev['reviewed_at'][:10]})"]
            if col.get("drift"):
                out["reasons"].append(f"drift: latest scan found {col['scanned_entity'] or 'null'} "
                                      f"{col['scanned_grade']}")
        columns.append(out)
    obj["columns"] = columns
    return obj


def scan_sources(sources: list[str], settings: Settings, *, full: bool = False,
                 force: bool = False) -> list[dict[str, Any]]:
    """Scan and record; one contract object per dataset, in the order given."""
    return [contract_object(o.report) for o in run_scan(sources, settings, full=full, force=force)]
