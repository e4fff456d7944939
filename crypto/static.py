"""Static desensitization: a whole dataset into a new file, same format, streamed in chunks,
with the k-anonymity of the output over the policy's quasi-identifiers. Below the configured k
the export is refused (the partial output removed) unless forced."""

from __future__ import annotations

import os
import random
from collections import Counter
from datetime import datetime, timezone
from itertools import islice
from pathlib import Path
from typing import IO, Any

from classifier import audit, progress
from classifier.errors import InputError
from crypto.engine import Caller, MaskingEngine, MaskResult
from crypto.errors import CryptoError
from crypto.paths import field_matches, get_path
from crypto.records_io import TableWriter, open_table
from crypto.share import canaries, releases
from crypto.share.watermark import METHOD, Utility

CHUNK = 5000


class KAnonymityError(CryptoError):
    """The output's k is below the policy's; ``report`` says by how much (nothing was written)."""

    def __init__(self, report: dict[str, Any]) -> None:
        super().__init__(f"k-anonymity of the output is {report['k']} over {report['quasi_identifiers']}, "
                         f"below the required {report['required_k']}; nothing written (use --force to export anyway)")
        self.report = report


def mask_file(engine: MaskingEngine, src: Path, dst: Path, caller: Caller, *,
              dataset: str | None = None, force: bool = False) -> dict[str, Any]:
    """Desensitize ``src`` into ``dst``; returns the report (rows, decisions, fallbacks, k)."""
    if src.resolve() == dst.resolve():
        raise InputError(str(dst), "output must be a different file than the input")
    dataset = dataset or src.stem
    handles: list[IO[Any]] = []
    partial = dst.with_name(dst.name + ".partial")
    try:
        table = open_table(src, handles)
        grades: dict[str, Any] | None = None
        decisions: dict[str, dict[str, str]] = {}
        fallbacks: dict[str, None] = {}
        classes: Counter[tuple[Any, ...]] = Counter()
        qi: list[str] | None = None
        rows = 0
        marks = _Marks(engine, dataset, caller)
        with open(partial, "w", encoding=table.encoding, newline="") as out:
            writer = TableWriter(out, table)
            while chunk := list(islice(table.rows, CHUNK)):
                names = list(dict.fromkeys(k for r in chunk for k in r))
                if grades is None or any(n not in grades for n in names):
                    grades = {**(grades or {}), **engine.field_grades(dataset, chunk, names)}
                res = engine.mask(dataset, caller, chunk, grades=grades, emit_audit=False)
                decisions.update(res.decisions)
                fallbacks.update(dict.fromkeys(res.fallbacks))
                if qi is None:
                    paths = list(dict.fromkeys([*names, *res.decisions]))
                    qi = [n for n in paths if field_matches(n, engine.policy.qi_fields)
                          or (grades.get(n) is not None and grades[n].entity in engine.policy.qi_entities)]
                classes.update(tuple(r.get(q) if q in r else get_path(r, q) for q in qi) for r in res.records)
                writer.write(marks.add(res, chunk, grades))
                rows += len(chunk)
                progress.advance(f"mask {src.name} (records)", len(chunk))
            writer.close()
            out.flush()
            os.fsync(out.fileno())
        k = min(classes.values()) if qi and classes else None
        report = {"dataset": dataset, "input": str(src), "output": str(dst), "rows": rows,
                  "decisions": decisions, "fallbacks": list(fallbacks), "quasi_identifiers": qi or [],
                  "k": k, "required_k": engine.policy.k, "classes": len(classes) if qi else None,
                  "forced": False, "written": False}
        refused = k is not None and k < engine.policy.k and not force
        report["forced"] = k is not None and k < engine.policy.k and force
        release_id = None
        if not refused:  # the ledger row is durable before the file appears under its name
            release_id = releases.record(
                engine.settings.data_dir, dataset=dataset, user=caller.user, role=caller.role, org=caller.org,
                purpose=caller.purpose, approval_id=caller.approval_id, rows=rows,
                fields={f: d["strategy"] for f, d in decisions.items()},
                now=datetime.now(timezone.utc).astimezone(), watermark=marks.params()).release_id
            if marks.watched:  # before the file appears: a leaked canary always names its release
                canaries.store(engine.settings.data_dir, release_id, marks.watched)
            os.replace(partial, dst)
            report["written"] = True
        report["release_id"] = release_id
        report["watermark"] = marks.params()
        audit.emit(audit.make_event(
            "export", user=caller.user, role=caller.role, org=caller.org, dataset=dataset,
            fields=list(decisions), rows=rows, purpose=caller.purpose, approval_id=caller.approval_id,
            dest=str(dst), result="denied" if refused else "success",
            extra={"operation": "static_mask", "k": k, "required_k": engine.policy.k,
                   "forced": report["forced"], "fallbacks": report["fallbacks"], "release_id": release_id}),
            engine.settings.data_dir)
        if refused:
            raise KAnonymityError(report)
        return report
    finally:
        for fh in handles:
            fh.close()
        partial.unlink(missing_ok=True)


class _Marks:
    """The watermark side of one export: utility summed over chunks, and the policy's canary
    records (masked like the rest, marks included) hidden at random places of the first chunk."""

    def __init__(self, engine: MaskingEngine, dataset: str, caller: Caller) -> None:
        spec = engine.policy.watermark
        self.engine, self.dataset, self.caller = engine, dataset, caller
        self.wanted = spec.canaries if spec is not None else 0
        self.canaries = 0
        self.watched: list[tuple[str, str]] = []
        self.utility: dict[str, Utility] = {}
        self.base: dict[str, Any] | None = None

    def add(self, res: MaskResult, chunk: list[dict[str, Any]], grades: dict[str, Any]) -> list[dict[str, Any]]:
        """The chunk's records to write: ``res.records`` plus, once, the canaries."""
        self._count(res.watermark)
        out = res.records
        if self.wanted and chunk:
            rng = random.SystemRandom()
            entities = {n: (g.entity if g is not None else None) for n, g in grades.items()}
            fakes, made = canaries.make(chunk, entities, min(self.wanted, len(chunk) // canaries.ROWS_PER_CANARY),
                                        rng)
            masked = self.engine.mask(self.dataset, self.caller, fakes, grades=grades, emit_audit=False)
            watched = canaries.distinctive(masked.records, made)
            self.wanted = 0  # decided once, on the first chunk
            if watched:  # a canary no one can recognise once masked would only be noise in the data
                self._count(masked.watermark)
                self.watched = watched
                out = list(out)
                for record in masked.records:
                    out.insert(rng.randrange(len(out) + 1), record)
                self.canaries = len(masked.records)
        return out

    def _count(self, wm: dict[str, Any] | None) -> None:
        if wm is None:
            return
        self.base = self.base or {k: v for k, v in wm.items() if k != "utility"}
        for name, u in wm["utility"].items():
            slot = self.utility.setdefault(name, Utility(u["max_change"]))
            if u["max_change"] != "0":
                slot.unit = u["max_change"]
            slot.add(Utility(u["max_change"], u["marked"], u["changed"]))

    def params(self) -> dict[str, Any] | None:
        """The ledger's watermark object: parameters, utility over the file, canaries hidden."""
        if self.base is None and not self.canaries:
            return None
        return {**(self.base or {"method": METHOD, "values": {}}), "canaries": self.canaries,
                "utility": {n: u.to_dict() for n, u in self.utility.items()}}
