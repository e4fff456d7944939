"""Column-level detection: run every recognizer over a whole column of de-duplicated values.

Presidio's per-cell ``AnalyzerEngine.analyze`` manages ~1,000 cells/s; here each batch of a column
is reduced to its distinct values (Arrow ``value_counts``), normalised once (NFKC turns full-width
digits and brackets into ASCII), narrowed by a length/ASCII/character-class prefilter per recognizer
(:mod:`classifier.charclass`), fullmatched with Arrow's RE2 kernel, and only those candidates reach
the recognizer's (vectorised) validator.
Hit counts are weighted by how often each distinct value occurs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from classifier.charclass import NON_ASCII, pattern_shape, value_classes, value_digits
from classifier.evidence import mask_sample
from classifier.recognizers.base import ShuweiRecognizer
from classifier.identifiers.text import EXCEL_SCIENTIFIC, clean_many
from classifier.recognizers.location import GeoCoordinateRecognizer, LAT_RANGE, LON_RANGE
from classifier.text import TextScanner
from classifier.textcues import CONTEXT_ENTITIES

BLANKS = pa.array(["", "null", "NULL", "None", "none", "NaN", "nan", "N/A", "n/a", "NA", "-", "—", "/"])
EVIDENCE_SAMPLES = 3


@dataclass
class EntityTally:
    matches: int = 0    # values whose shape fits the pattern
    hits: int = 0       # ... that also pass validation and are not allow-listed
    allowed: int = 0    # allow-listed values: neither hits nor part of the denominator
    weak: int = 0       # hits in a form that counts only under a column name naming the entity
    evidence: list[str] = field(default_factory=list)  # masked


@dataclass
class ColumnTally:
    """Everything the column decision needs, accumulated batch by batch (bounded memory)."""

    nonblank: int = 0
    entities: dict[str, EntityTally] = field(default_factory=dict)
    lon_hits: int = 0   # single decimal degrees with ≥ 4 decimals, inside China's longitudes
    lat_hits: int = 0
    degree_evidence: list[str] = field(default_factory=list)
    embedded: dict[str, EmbeddedTally] = field(default_factory=dict)  # spans inside text values
    scientific: int = 0  # long numbers Excel wrote as 2.10725E+17: the digits are lost
    scientific_evidence: list[str] = field(default_factory=list)


@dataclass
class EmbeddedTally:
    values: int = 0     # values holding at least one validated span of the entity
    evidence: list[str] = field(default_factory=list)  # masked spans


class ColumnScanner:
    """The recognizers plus allow-lists, applied to Arrow string arrays."""

    def __init__(self, recognizers: list[ShuweiRecognizer], allow: dict[str, set[str]]) -> None:
        """``allow``: entity → values never flagged as that entity (already NFKC/trimmed by the owner)."""
        self.recognizers = recognizers
        self.allow = {k: pa.array(sorted(v), type=pa.string()) for k, v in allow.items() if v}
        self._single = GeoCoordinateRecognizer.SINGLE
        self.text = TextScanner(recognizers, allow)
        # what each fullmatch can consume and requires (charclass): values that cannot match are
        # never copied or handed to RE2 — the counts stay those of matching every value
        self._shapes = [pattern_shape(rec.fullmatch_pattern) for rec in recognizers]
        self._single_shape = pattern_shape(self._single)
        self._scientific_shape = pattern_shape(EXCEL_SCIENTIFIC)
        # a span of a patterned text entity is a match of its CORE inside the value
        self._span_needs = [(rec.MIN_LEN, pattern_shape(rec.column_pattern)) for rec in self.text.patterned]

    def update(self, tally: ColumnTally, column: pa.Array | pa.ChunkedArray, *, remember: bool = False) -> None:
        """Fold one batch of a column (any type; cast to string; lists: their elements) into ``tally``.
        ``remember``: keep the spans found in text for masking the same values next
        (:mod:`classifier.textmemo`)."""
        if isinstance(column, pa.ChunkedArray):
            column = column.combine_chunks()
        if pa.types.is_list(column.type) or pa.types.is_large_list(column.type):
            column = pc.list_flatten(column)
        if not pa.types.is_string(column.type) and not pa.types.is_large_string(column.type):
            column = column.cast(pa.string())
        if isinstance(column, pa.ChunkedArray):
            column = column.combine_chunks()
        column = column.drop_null()
        if len(column) == 0:
            return
        vc = pc.value_counts(column)
        values = clean_many(vc.field("values"))
        counts = vc.field("counts").to_numpy().astype(np.int64)
        blank = pc.is_in(values, value_set=BLANKS).to_numpy(zero_copy_only=False)
        keep = ~blank
        values = values.filter(pa.array(keep))
        counts = counts[keep]
        tally.nonblank += int(counts.sum())
        if len(values) == 0:
            return
        lengths = pc.utf8_length(values).to_numpy(zero_copy_only=False)
        classes = value_classes(values)
        ascii_ = (classes & NON_ASCII) == 0
        shaped = np.zeros(len(values), dtype=bool)  # whole values shaped like an identifier
        worded = np.zeros(len(values), dtype=bool)  # ... like a name, address, organisation, diagnosis
        for rec, shape in zip(self.recognizers, self._shapes):
            pre = (lengths >= rec.MIN_LEN) & (lengths <= rec.MAX_LEN) & shape.fits(classes)
            if rec.ASCII_ONLY:
                pre &= ascii_
            idx = np.flatnonzero(pre)
            if idx.size == 0:
                continue
            sub = _rows(values, idx)
            matched = rec.fullmatch(sub)
            if not matched.any():
                continue
            (worded if rec.ENTITY in CONTEXT_ENTITIES else shaped)[idx[matched]] = True
            cand = sub.filter(pa.array(matched))
            cand_counts = counts[idx[matched]]
            valid = rec.validate_many(cand)
            et = tally.entities.setdefault(rec.ENTITY, EntityTally())
            allowed = self.allow.get(rec.ENTITY)
            if allowed is not None:
                listed = pc.is_in(cand, value_set=allowed).to_numpy(zero_copy_only=False)
                et.allowed += int(cand_counts[listed].sum())
                valid &= ~listed
            et.matches += int(cand_counts.sum())
            et.hits += int(cand_counts[valid].sum())
            if rec.WEAK is not None:
                et.weak += int(cand_counts[valid & rec.weak_many(cand)].sum())
            if len(et.evidence) < EVIDENCE_SAMPLES and valid.any():
                for v in cand.filter(pa.array(valid)).slice(0, EVIDENCE_SAMPLES).to_pylist():
                    masked = mask_sample(v)
                    if masked not in et.evidence and len(et.evidence) < EVIDENCE_SAMPLES:
                        et.evidence.append(masked)
        self._degrees(tally, values, counts, self._single_shape.fits(classes))
        self._embedded(tally, values, counts, ~shaped, worded, remember,
                       self._may_hold_spans(values, ~shaped, classes, lengths, ascii_, worded, remember), classes)
        self._scientific(tally, values, counts, lengths, self._scientific_shape.fits(classes))

    def _may_hold_spans(self, values: pa.Array, rest: np.ndarray, classes: np.ndarray, lengths: np.ndarray,
                        ascii_: np.ndarray, worded: np.ndarray, remember: bool) -> np.ndarray:
        """Values the text scan could find a span in. The others are left out of it, which changes
        nothing: a span of a patterned entity needs the value to be as long as its ``MIN_LEN`` and
        to hold its pattern's required classes and digits (charclass: ``@`` for an e-mail, ``.``
        or ``:`` for an IP, 7 digits for a passport number); context (names, addresses …) is searched only in
        non-ASCII values, and in ``worded`` ones (a whole name or address) only when they hold an
        identifier — unless ``remember`` asks for their spans too. On the bench CSV this drops the
        address and name columns (house numbers of a few digits, no ``@`` …) from the scan."""
        possible = ~ascii_ & (~worded | remember)
        todo = rest & ~possible
        if not todo.any():
            return possible
        digits = np.zeros(len(values), dtype=np.int64)
        idx = np.flatnonzero(todo)
        digits[idx] = value_digits(values.take(pa.array(idx))) if idx.size < len(values) else value_digits(values)
        for min_len, shape in self._span_needs:
            possible |= (lengths >= min_len) & shape.holds(classes, digits)
        return possible

    def _embedded(self, tally: ColumnTally, values: pa.Array, counts: np.ndarray, rest: np.ndarray,
                  worded: np.ndarray, remember: bool = False, possible: np.ndarray | None = None,
                  classes: np.ndarray | None = None) -> None:
        """Text values (not one identifier as a whole): count values holding spans. A value shaped
        like a whole address or name is searched only when an identifier pattern occurs in it (a
        ticket can fit the loose address shape; a column of plain addresses costs nothing).
        ``possible``: the values that could hold a span at all (:meth:`_may_hold_spans`)."""
        idx = np.flatnonzero(rest if possible is None else rest & possible)
        if idx.size == 0:
            return
        sub = _rows(values, idx)
        t = self.text.spans_in(sub, worded[idx], remember=remember,
                               classes=None if classes is None else classes[idx])
        if t.row.size == 0:
            return
        # one (value, entity) pair per value holding the entity, in the order spans were found
        n_names = len(t.names)
        _, first = np.unique(t.row * n_names + t.entity, return_index=True)
        first.sort()
        ent = t.entity[first]
        weight = counts[idx[t.row[first]]]
        per_entity = np.zeros(n_names, dtype=np.int64)
        np.add.at(per_entity, ent, weight)
        _, ent_first = np.unique(ent, return_index=True)
        texts: dict[int, str] = {}
        for e in ent[np.sort(ent_first)].tolist():
            et = tally.embedded.setdefault(t.names[e], EmbeddedTally())
            et.values += int(per_entity[e])
            for k in first[ent == e].tolist():
                if len(et.evidence) >= EVIDENCE_SAMPLES:
                    break
                r = int(t.row[k])
                if r not in texts:
                    texts[r] = sub[r].as_py()
                masked = mask_sample(texts[r][int(t.start[k]):int(t.stop[k])])
                if masked not in et.evidence:
                    et.evidence.append(masked)

    def _scientific(self, tally: ColumnTally, values: pa.Array, counts: np.ndarray,
                    lengths: np.ndarray, fits: np.ndarray) -> None:
        """Count identifiers Excel destroyed (``2.10725E+17``): no digits to validate, but the
        decision must say so rather than call the column empty of identifiers. ``fits``: the
        values whose characters could make up that form (charclass)."""
        idx = np.flatnonzero(fits & (lengths >= 7) & (lengths <= 21))
        if idx.size == 0:
            return
        sub = values.take(pa.array(idx))
        sci = pc.fill_null(pc.match_substring_regex(sub, EXCEL_SCIENTIFIC), False).to_numpy(zero_copy_only=False)
        if sci.any():
            tally.scientific += int(counts[idx[sci]].sum())
            if len(tally.scientific_evidence) < EVIDENCE_SAMPLES:
                tally.scientific_evidence += sub.filter(pa.array(sci)).slice(0, EVIDENCE_SAMPLES).to_pylist()
                del tally.scientific_evidence[EVIDENCE_SAMPLES:]

    def _degrees(self, tally: ColumnTally, values: pa.Array, counts: np.ndarray,
                 fits: np.ndarray) -> None:
        """Split coordinates: count decimal-degree values per axis range (``fits``: values whose
        characters could make up one, see charclass)."""
        idx = np.flatnonzero(fits)
        if idx.size == 0:
            return
        sub = values.take(pa.array(idx))
        ok = pc.fill_null(pc.match_substring_regex(sub, self._single), False).to_numpy(zero_copy_only=False)
        if not ok.any():
            return
        degrees = sub.filter(pa.array(ok))
        nums = pc.cast(degrees, pa.float64()).to_numpy()
        if len(tally.degree_evidence) < EVIDENCE_SAMPLES:
            tally.degree_evidence += [mask_sample(v) for v in degrees.slice(0, EVIDENCE_SAMPLES).to_pylist()]
            del tally.degree_evidence[EVIDENCE_SAMPLES:]
        c = counts[idx[ok]]
        tally.lon_hits += int(c[(nums >= LON_RANGE[0]) & (nums <= LON_RANGE[1])].sum())
        tally.lat_hits += int(c[(nums >= LAT_RANGE[0]) & (nums <= LAT_RANGE[1])].sum())


def _rows(values: pa.Array, idx: np.ndarray) -> pa.Array:
    """``values`` at the (increasing) indices ``idx``; all of them: no copy (a take of a column of
    50,000 texts copies ~3.6 MB, ~4 ms here)."""
    return values if idx.size == len(values) else values.take(pa.array(idx))
