"""Leak tracing (事后可追溯): which recorded releases a suspected leak came from, with a p-value.

A leak is any subset of rows and columns of a released file, reordered, converted between CSV,
JSON Lines and xlsx. For each release of the ledger whose watermarked fields appear in it, the
evidence is (docs/design/watermark.md):

- value marks: per distinct ``(field, grid cell)`` of the leak, whether its bit is the one the
  release's recipient key gives (chance 1/2 for data that was not marked with that key);
- pseudonym tags: per distinct per-org ``hash`` pseudonym, whether its 4-hex tag verifies under
  the release's org (chance 1/65,536 otherwise);
- canary rows: a leaked row holding a value of one of the release's canary records.

The p-value of a release is the exact binomial tail of its mark matches (Fisher's method joins the
tag tail), times the number of releases tested (Bonferroni), so a leak that came from none of them
is called ``traced`` with probability at most 1e-6 however large the ledger.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field as dc_field
from pathlib import Path
from typing import IO, Any

import numpy as np

from classifier import audit
from classifier.errors import InputError
from crypto.errors import KeyDestroyedError, UnknownKeyError
from crypto.records_io import open_table
from crypto.share import canaries, releases
from crypto.share.releases import Release
from crypto.share.watermark import (TAG_HEX, Prf, ValueRule, block, field_tag, org_tag_key, read,
                                    recipient_key, split_pseudonym, tag_block)

THRESHOLD = 1e-6  # the contract's false-attribution bound
P_FLOOR = 1e-300  # smaller p-values are reported as this (a float's range ends near 1e-308)
MAX_CANDIDATES = 5
FORMATS = (".csv", ".tsv", ".jsonl", ".ndjson", ".json", ".xlsx")
Material = Callable[[str, int], bytes | None]  # (key_id, version) → key material, None if unavailable


# -- reading a leak ------------------------------------------------------------------------------
def read_leak(path: Path) -> list[dict[str, Any]]:
    """The rows of a suspected leak (CSV/TSV, JSON Lines, JSON array, xlsx first sheet)."""
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise InputError(str(path), f"unsupported file type '{suffix or '(none)'}' to trace "
                         f"({', '.join(f[1:] for f in FORMATS)})")
    if suffix == ".xlsx":
        rows = _read_xlsx(path)
    else:
        handles: list[IO[Any]] = []
        try:
            rows = list(open_table(path, handles).rows)
        finally:
            for fh in handles:
                fh.close()
    if not rows:
        raise InputError(str(path), "no rows to trace")
    return rows


def _read_xlsx(path: Path) -> list[dict[str, Any]]:
    """Typed cells (numbers stay numbers, dates datetimes) — the watermark reads both."""
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, OSError, KeyError, ValueError) as exc:
        raise InputError(str(path), f"not a readable xlsx workbook ({exc.__class__.__name__})") from None
    try:
        rows = book.worksheets[0].iter_rows(values_only=True)
        header = next(rows, None)
        if header is None:
            raise InputError(str(path), "empty worksheet: no header row")
        names = [str(h) if h is not None else f"column{i + 1}" for i, h in enumerate(header)]
        return [dict(zip(names, row)) for row in rows if any(v is not None for v in row)]
    finally:
        book.close()


def read_body(data: bytes, suffix: str) -> list[dict[str, Any]]:
    """An uploaded leak, read exactly as a file of that type (same checks, same errors)."""
    with tempfile.TemporaryDirectory(prefix="shuwei-trace-") as tmp:
        path = Path(tmp) / f"leak{suffix}"
        path.write_bytes(data)
        try:
            return read_leak(path)
        except InputError as exc:
            raise InputError(exc.where.replace(str(path), "body"), exc.message) from None


# -- statistics ----------------------------------------------------------------------------------
class _Tails:
    """Exact binomial upper tails in log space over a log-factorial table (vectorised: one tail
    per candidate release; no scipy dependency for a 10-line sum)."""

    def __init__(self) -> None:
        self._logfact = np.zeros(1)

    def log_sf(self, m: int, n: int, p: float) -> float:
        """log P(X ≥ m) for X ~ Binomial(n, p)."""
        if m <= 0:
            return 0.0
        if m > n:
            return -math.inf
        if len(self._logfact) <= n:
            self._logfact = np.concatenate(([0.0], np.cumsum(np.log(np.arange(1, 2 * n + 2)))))
        k = np.arange(m, n + 1)
        lf = self._logfact
        terms = lf[n] - lf[k] - lf[n - k] + k * math.log(p) + (n - k) * math.log1p(-p)
        top = float(terms.max())
        return min(0.0, top + math.log(float(np.exp(terms - top).sum())))


def fisher(log_ps: list[float]) -> float:
    """Fisher's method for independent p-values, in logs: P(χ²_2k ≥ −2 Σ ln p)."""
    if len(log_ps) == 1:
        return log_ps[0]
    half = -sum(log_ps)  # X/2
    if math.isinf(half):
        return -math.inf
    k = len(log_ps)
    # survival of χ² with 2k dof at X: e^{-X/2} Σ_{i<k} (X/2)^i / i!
    return -half + math.log(sum(half ** i / math.factorial(i) for i in range(k)))


# -- evidence ------------------------------------------------------------------------------------
@dataclass
class _Cells:
    """Distinct marked cells of the leak for one kind of evidence, and where they occur."""

    keys: dict[tuple[Any, ...], int] = dc_field(default_factory=dict)
    observed: list[int] = dc_field(default_factory=list)  # the bit (or tag) read; -1: contradictory
    group: list[int] = dc_field(default_factory=list)  # which (field, params) the cell belongs to
    blocks: bytearray = dc_field(default_factory=bytearray)
    rows: list[int] = dc_field(default_factory=list)  # occurrences: row, cell, value read
    cells: list[int] = dc_field(default_factory=list)
    values: list[int] = dc_field(default_factory=list)

    def add(self, key: tuple[Any, ...], group: int, blk: bytes, value: int, row: int) -> None:
        idx = self.keys.get(key)
        if idx is None:
            idx = self.keys[key] = len(self.observed)
            self.observed.append(value)
            self.group.append(group)
            self.blocks += blk
        elif self.observed[idx] != value:
            self.observed[idx] = -1  # both bits seen: never so in a marked release
        self.rows.append(row)
        self.cells.append(idx)
        self.values.append(value)

    def arrays(self) -> tuple[np.ndarray, ...]:
        return (np.array(self.observed, dtype=np.int64), np.array(self.group, dtype=np.int64),
                np.array(self.rows, dtype=np.int64), np.array(self.cells, dtype=np.int64),
                np.array(self.values, dtype=np.int64))


@dataclass
class _Score:
    release: Release
    rows_checked: np.ndarray  # per leaked row: carried evidence for this release
    rows_bad: np.ndarray  # per leaked row: some of it contradicts this release's key
    marks: tuple[int, int] = (0, 0)  # matching, examined
    tags: tuple[int, int] = (0, 0)
    canary_rows: list[int] = dc_field(default_factory=list)
    log_p: float = 0.0

    def add(self, kind: str, cells: _Evidence, mine: tuple[int, ...], expected: np.ndarray) -> None:
        """Count the cells of this release's fields that match ``expected``; mark their rows."""
        sel, occ = cells.selection(mine)
        counts = (int((sel & (cells.observed == expected)).sum()), int(sel.sum()))
        if kind == "marks":
            self.marks = counts
        else:
            self.tags = counts
        self.rows_checked[cells.occ_row[occ]] = True
        self.rows_bad[cells.occ_row[occ & (expected[cells.occ_cell] != cells.occ_val)]] = True


class _Evidence:
    """:class:`_Cells` as arrays, with the selection of each field set computed once."""

    def __init__(self, cells: _Cells) -> None:
        self.observed, self.group, self.occ_row, self.occ_cell, self.occ_val = cells.arrays()
        self.blocks = bytes(cells.blocks)
        self._selections: dict[tuple[int, ...], tuple[np.ndarray, np.ndarray]] = {}

    def selection(self, mine: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
        """(cells of these field groups, occurrences of those cells)."""
        found = self._selections.get(mine)
        if found is None:
            sel = np.isin(self.group, mine)
            found = self._selections[mine] = (sel, sel[self.occ_cell])
        return found


class Ledger:
    """The releases and canaries a trace runs against, read once, with the recipients' PRFs
    (key derivation) cached — so many samples, or a benchmark, pay for them once."""

    def __init__(self, found: list[Release], canary_values: dict[str, tuple[str, str]], material: Material) -> None:
        self.releases, self.canaries = found, canary_values
        self._material = material
        self._keys: dict[tuple[str, int], bytes | None] = {}
        self._prfs: dict[tuple[Any, ...], Prf | None] = {}

    @classmethod
    def load(cls, data_dir: Path, material: Material, *, dataset: str | None = None) -> Ledger:
        return cls(releases.list_releases(data_dir, dataset=dataset), canaries.load(data_dir), material)

    def prf(self, kind: str, key_id: str, version: int, org: str | None, user: str | None) -> Prf | None:
        """The recipient's value-mark PRF (``kind`` "marks") or the org's tag PRF ("tags")."""
        slot = (kind, key_id, version, org, user)
        if slot not in self._prfs:
            if (key_id, version) not in self._keys:
                self._keys[(key_id, version)] = self._material(key_id, version)
            base = self._keys[(key_id, version)]
            self._prfs[slot] = None if base is None else Prf(
                recipient_key(base, org, user) if kind == "marks" else org_tag_key(base, org or ""))
        return self._prfs[slot]


def trace(records: list[dict[str, Any]], ledger: Ledger) -> dict[str, Any]:
    """The contract's trace result for ``records`` against every release of ``ledger``."""
    columns = {k for r in records for k in r}
    found = ledger.releases
    canary_values = ledger.canaries
    canary_rows: dict[str, list[int]] = {}
    if canary_values:
        for i, r in enumerate(records):
            for v in r.values():
                hit = canary_values.get(v if isinstance(v, str) else str(v)) if v is not None else None
                if hit is not None and i + 1 not in canary_rows.setdefault(hit[0], []):
                    canary_rows[hit[0]].append(i + 1)
    n = len(records)
    scores = {r.release_id: _Score(r, np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)) for r in found
              if r.release_id in canary_rows or (r.watermark and (
                  columns & set(r.watermark.get("values", {})) or columns & set(r.watermark.get("pseudonyms", {}))))}
    for rid, rows in canary_rows.items():
        if rid in scores:
            scores[rid].canary_rows = rows
    _value_evidence(records, list(scores.values()), ledger)
    _tag_evidence(records, list(scores.values()), ledger)
    tails = _Tails()
    tested = [s for s in scores.values() if s.marks[1] or s.tags[1] or s.canary_rows]
    for s in tested:
        parts = []
        if s.marks[1]:
            parts.append(tails.log_sf(s.marks[0], s.marks[1], 0.5))
        if s.tags[1]:
            parts.append(tails.log_sf(s.tags[0], s.tags[1], 16.0 ** -TAG_HEX))
        s.log_p = min(0.0, fisher(parts) + math.log(len(tested))) if parts else 0.0
    tested.sort(key=lambda s: (s.log_p, -(s.marks[0] + s.tags[0]), s.release.at))
    candidates = [_candidate(s) for s in tested[:MAX_CANDIDATES]]
    traced = bool(candidates) and candidates[0]["p_value"] <= THRESHOLD
    return {"candidates": candidates, "verdict": "traced" if traced else "inconclusive",
            "rows_examined": len(records), "releases_tested": len(tested)}


def _candidate(s: _Score) -> dict[str, Any]:
    r = s.release
    evidence = []
    if s.marks[1]:
        evidence.append(f"watermark {s.marks[0]}/{s.marks[1]} bits")
    if s.tags[1]:
        evidence.append(f"pseudonym tags {s.tags[0]}/{s.tags[1]}")
    evidence += [f"canary row {n}" for n in s.canary_rows]
    return {"release_id": r.release_id, "dataset": r.dataset,
            "caller": {k: r.caller[k] for k in ("user", "role", "org")}, "at": r.at,
            "matched_rows": (int((s.rows_checked & ~s.rows_bad).sum()) if (s.marks[1] or s.tags[1])
                             else len(s.canary_rows)),
            "p_value": max(math.exp(s.log_p), P_FLOOR) if s.log_p > -math.inf else P_FLOOR,
            "evidence": evidence}


def _value_evidence(records: list[dict[str, Any]], scores: list[_Score], ledger: Ledger) -> None:
    specs: dict[tuple[str, str, float], int] = {}
    for s in scores:
        for name, params in (s.release.watermark or {}).get("values", {}).items():
            specs.setdefault((name, params.get("kind", "number"), float(params.get("step", 1.0))), len(specs))
    cells = _Cells()
    present = {k for r in records for k in r}
    for (name, kind, step), g in specs.items():
        if name not in present:
            continue
        rule = ValueRule(kind=kind, step=step)
        tags = (field_tag(name, 0), field_tag(name, 1))
        for i, r in enumerate(records):
            value = r.get(name)
            parsed = read(rule, value) if value is not None and value != "" else None
            if parsed is None:
                continue
            level, qs = parsed
            for comp, q in enumerate(qs[:2]):
                cells.add((g, comp, level, q >> 1), g, block(tags[comp], level, q >> 1), q & 1, i)
    if not cells.observed:
        return
    ev = _Evidence(cells)
    by_recipient: dict[tuple[Any, ...], np.ndarray | None] = {}
    for s in scores:
        wm = s.release.watermark or {}
        mine = tuple(specs[(n, p.get("kind", "number"), float(p.get("step", 1.0)))]
                     for n, p in wm.get("values", {}).items())
        if not mine:
            continue
        c = s.release.caller
        rk = (wm["key_id"], wm["version"], c["org"], c["user"])
        if rk not in by_recipient:
            prf = ledger.prf("marks", *rk)
            by_recipient[rk] = None if prf is None else prf.bits(ev.blocks).astype(np.int64)
        expected = by_recipient[rk]
        if expected is not None:
            s.add("marks", ev, mine, expected)


def _tag_evidence(records: list[dict[str, Any]], scores: list[_Score], ledger: Ledger) -> None:
    fields = {n for s in scores for n in (s.release.watermark or {}).get("pseudonyms", {})}
    index = {n: g for g, n in enumerate(sorted(fields))}
    cells = _Cells()
    for i, r in enumerate(records):
        for name, g in index.items():
            parts = split_pseudonym(r.get(name))
            if parts is not None:
                cells.add((g, parts[0]), g, tag_block(parts[0]), parts[1], i)
    if not cells.observed:
        return
    ev = _Evidence(cells)
    by_org: dict[tuple[Any, ...], np.ndarray | None] = {}
    for s in scores:
        wm = s.release.watermark or {}
        org = s.release.caller["org"]
        mine = tuple(index[n] for n in wm.get("pseudonyms", {}) if n in index)
        if not mine or not org:
            continue
        ok = (wm["key_id"], wm["version"], org)
        if ok not in by_org:
            prf = ledger.prf("tags", wm["key_id"], wm["version"], org, None)
            by_org[ok] = None if prf is None else prf.tags(ev.blocks).astype(np.int64)
        expected = by_org[ok]
        if expected is not None:
            s.add("tags", ev, mine, expected)


def keyring_material(keyring: Any) -> Material:
    """Recorded key versions read from the keyring — never created: an unknown or destroyed one
    leaves its releases untested (a trace is no reason to make keys)."""
    def get(key_id: str, version: int) -> bytes | None:
        try:
            material: bytes = keyring.material(key_id, version)
        except (UnknownKeyError, KeyDestroyedError):
            return None
        return material
    return get


def event(result: dict[str, Any], user: str, *, role: str | None = None,
          extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The trace's ``api_call`` audit event: verdict, release ids and, when traced, the release and
    its recipient (the SOC raises *Leak traced to a release* from it). The dataset goes in
    ``extra``, so the alert keeps the rule's severity."""
    top = result["candidates"][0] if result["candidates"] else None
    traced = result["verdict"] == "traced" and top is not None
    more: dict[str, Any] = {"operation": "trace", "verdict": result["verdict"],
                            "release_ids": [c["release_id"] for c in result["candidates"]],
                            "rows_examined": result["rows_examined"]}
    if traced and top is not None:
        more.update(release_id=top["release_id"], recipient=top["caller"], p_value=top["p_value"],
                    traced_dataset=top["dataset"])
    return audit.make_event("api_call", user=user, role=role, rows=result["rows_examined"],
                            extra={**more, **(extra or {})})
