"""Identifiers inside free text (备注, 诉求内容, 办理意见): span search with Shuwei's recognizers.

Pattern entities use each recognizer's own Presidio pattern (``CORE`` between alphanumeric
boundaries) and its own vectorised validator, so a span is validated exactly like a whole value and
a recognizer added to ``RECOGNIZER_CLASSES`` is searched in text too. Names, addresses, diagnoses
and birth dates need context, not patterns: see :mod:`classifier.textcues`.

Presidio's ``AnalyzerEngine.analyze`` runs ~1,000 texts/s here (field notes); this engine batches
instead: one RE2 pass over the Arrow column finds the texts with any candidate, one RE2 pass per
recognizer says which patterns to try, Python finds the spans only there, and each entity's
candidates are validated in one vectorised call. :class:`ShuweiTextRecognizer` exposes the same
engine through Presidio's ``EntityRecognizer`` interface.
"""

from __future__ import annotations

import re
from functools import partial
from typing import NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from presidio_analyzer import AnalyzerEngine, EntityRecognizer, RecognizerRegistry, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts, NoOpNlpEngine

from classifier.charclass import NON_ASCII, pattern_shape, value_classes
from classifier.gcpause import gc_paused
from classifier.recognizers import all_recognizers
from classifier.recognizers.base import LANGUAGE, ShuweiRecognizer
from classifier.textcues import CONTEXT_ENTITIES, FOUND_BY_CONTEXT, ContextFinder
from classifier.textmemo import memo_for
from classifier.texttokens import TOKEN_ENTITIES, tokens

# Digit identifiers right after these words are look-alikes (order numbers, 文号, case numbers).
_NOT_PERSONAL = ("订单号", "订单", "单号", "编号", "流水号", "工单号", "受理号", "案号", "文号", "批次号",
                 "发票号", "合同号", "序号", "件号", "业务号", "办件号")
_DIGIT_ENTITIES = frozenset({"CN_RESIDENT_ID", "CN_MOBILE", "CN_BANK_CARD", "CN_LANDLINE", "CN_USCC"})
# Bank cards in text: issuer ranges of cards used in China (UnionPay 62, Visa 4, Mastercard 5,
# JCB/Amex 3) or a card word nearby; Luhn alone passes one random number in ten.
_CARD_PREFIXES = ("3", "4", "5", "62")
_CARD_CUES = ("卡号", "银行卡", "账号", "账户", "银行", "借记卡", "信用卡", "储蓄卡", "开户")
_NOT_PERSONAL_PATTERN = "|".join(_NOT_PERSONAL)
_CARD_PREFIX_PATTERN = "^(?:{})".format("|".join(_CARD_PREFIXES))


class Span(NamedTuple):
    entity: str
    start: int
    end: int


class SpanTable(NamedTuple):
    """Spans of a column as arrays, no Python object per span. Grouped by row, rows in the order
    they were first found (recognizers in order, then context), spans of a row by start — the
    order a dict of rows filled recognizer by recognizer has, so evidence picks stay the same."""

    row: np.ndarray
    start: np.ndarray
    stop: np.ndarray
    entity: np.ndarray  # index into ``names``
    rank: np.ndarray    # per span: its row's place in the order rows were found
    names: tuple[str, ...]

    def by_row(self) -> dict[int, list[Span]]:
        """Row → its spans; one ``Span`` per span built by ``map`` and cut per row by slices
        (rows are contiguous): ~3× faster than a dict look-up per span, and masking after a scan
        turns every span of a call into objects here."""
        n = self.row.size
        if n == 0:
            return {}
        names = self.names
        spans = list(map(_make_span, zip([names[e] for e in self.entity.tolist()], self.start.tolist(),
                                         self.stop.tolist())))
        cuts = np.flatnonzero(self.row[1:] != self.row[:-1]) + 1
        rows = self.row[np.concatenate(([0], cuts))].tolist()
        bounds = [0, *cuts.tolist(), n]
        return {r: spans[a:b] for r, a, b in zip(rows, bounds, bounds[1:])}


# Span from an (entity, start, end) tuple without the NamedTuple's Python-level __new__: ~2.5×
# faster (64,240 spans: 27 → 11 ms measured here); same objects (tests/classifier/test_text_batches.py).
_make_span = partial(tuple.__new__, Span)


def _table(rows: list[np.ndarray], starts: list[np.ndarray], stops: list[np.ndarray],
           ents: list[np.ndarray], names: tuple[str, ...]) -> SpanTable:
    """Concatenated and sorted by (row, start); ties keep their order (recognizers, then context)."""
    empty = np.zeros(0, dtype=np.int64)
    if not rows:
        return SpanTable(empty, empty, empty, empty, empty, names)
    row, start, stop, ent = (np.concatenate(x).astype(np.int64, copy=False) for x in (rows, starts, stops, ents))
    if row.size == 0:
        return SpanTable(empty, empty, empty, empty, empty, names)
    uniq, first, inverse = np.unique(row, return_index=True, return_inverse=True)
    rank_of = np.empty(uniq.size, dtype=np.int64)
    rank_of[np.argsort(first, kind="stable")] = np.arange(uniq.size)
    return _sorted(SpanTable(row, start, stop, ent, rank_of[inverse.reshape(-1)], names))


def _filtered(t: SpanTable, keep: np.ndarray) -> SpanTable:
    return SpanTable(t.row[keep], t.start[keep], t.stop[keep], t.entity[keep], t.rank[keep], t.names)


def _sorted(t: SpanTable) -> SpanTable:
    width = int(t.stop.max(initial=0)) + 1
    order = np.argsort(t.rank * width + t.start, kind="stable")
    return SpanTable(t.row[order], t.start[order], t.stop[order], t.entity[order], t.rank[order], t.names)


def normalize(text: str) -> str:
    """Full-width ASCII → ASCII, length-preserving (span offsets stay valid in the original)."""
    if text.isascii() or _FULL_WIDTH.search(text) is None:  # search ~10× faster than translate
        return text
    return text.translate(_HALF)


def normalize_many(texts: list[str]) -> list[str]:
    """:func:`normalize` of each text. Chinese text nearly always holds a full-width comma or
    colon; one substitution over the texts joined by NUL is ~3.7× faster than ``translate``
    per text (50,000 texts: 152 → 41 ms measured here)."""
    blob = "\x00".join(texts)
    if len(texts) < 2 or blob.count("\x00") != len(texts) - 1:
        return [normalize(t) for t in texts]
    return _FULL_WIDTH.sub(_half_char, blob).split("\x00")


def _half_char(m: re.Match[str]) -> str:
    return chr(_HALF[ord(m[0])])


_HALF = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}
_FULL_WIDTH = re.compile("[\uff01-\uff5e\u3000]")


class _Texts:
    """A column's texts as Python strings, converted only when (and as far as) needed."""

    def __init__(self, values: pa.Array) -> None:
        self.values = values
        self._list: list[str] | None = None
        self._has: dict[str, np.ndarray] = {}

    def __getitem__(self, i: int) -> str:
        if self._list is None:
            self._list = self.values.to_pylist()
        return self._list[i]

    def pick(self, rows: np.ndarray) -> list[str] | None:
        """The texts of ``rows`` if they are converted already (a gather: ~5× cheaper than
        converting them again), else None."""
        if self._list is None:
            return None
        if rows.size == len(self._list):
            return self._list
        got = self._list
        return [got[i] for i in rows.tolist()]

    def has(self, pattern: str) -> np.ndarray:
        """Per row: does the text contain ``pattern`` (one RE2 pass, once per column)."""
        if pattern not in self._has:
            self._has[pattern] = pc.fill_null(pc.match_substring_regex(self.values, pattern), False) \
                .to_numpy(zero_copy_only=False)
        return self._has[pattern]


class TextScanner:
    """All span entities of the recognizers plus the context finders, over texts in bulk."""

    def __init__(self, recognizers: list[ShuweiRecognizer] | None = None,
                 allow: dict[str, set[str]] | None = None) -> None:
        recs = recognizers if recognizers is not None else all_recognizers()
        self.patterned = [r for r in recs if r.ENTITY not in CONTEXT_ENTITIES]
        self.priority = {r.ENTITY: i for i, r in enumerate(recs)}
        # each recognizer's own Presidio pattern (CORE between alphanumeric boundaries)
        self._python = [re.compile(getattr(r, "patterns")[0].regex, re.DOTALL) for r in self.patterned]
        self.context = ContextFinder()
        self.allow = {k: set(v) for k, v in (allow or {}).items() if v}
        self.entities = [r.ENTITY for r in self.patterned] + list(FOUND_BY_CONTEXT)
        self.names = tuple(dict.fromkeys(self.entities))
        self._code = {e: i for i, e in enumerate(self.names)}
        self._priority_of = np.array([self.priority.get(e, 99) for e in self.names], dtype=np.int64)
        self._token_min = min((r.MIN_LEN for r in self.patterned if r.ENTITY in TOKEN_ENTITIES), default=0)
        # what a span of each pattern holds (charclass: a CORE match needs ``@`` for an e-mail,
        # ``.`` or ``:`` for an IP, 8 digits for a permit): texts without it skip that pattern's
        # RE2 pass — 5 of the bench's full-column passes drop to 0–19% of the rows
        self._holds = [pattern_shape(r.column_pattern) for r in self.patterned]
        # spans remembered from scans, as found without allow-lists (see spans_in)
        self.memo = memo_for(tuple((type(r), r.ENTITY, tuple(p.regex for p in getattr(r, "patterns", ())))
                                   for r in recs))

    # -- bulk ------------------------------------------------------------------------------
    def spans_in(self, values: pa.Array, worded: np.ndarray | None = None, *, remember: bool = False,
                 classes: np.ndarray | None = None) -> SpanTable:
        """Validated, non-overlapping spans of ``values`` as arrays (rows with none left out).

        One RE2 pass per pattern (one alternation of all patterns is ~50× slower: RE2's DFA gives
        up on it), over the rows long enough for it that hold the character classes its span
        needs (:mod:`classifier.charclass`); Python only on the rows a pattern hit.
        Context (Chinese cue words) is searched only in non-ASCII rows, and ``worded`` rows (whole
        values shaped like a name or address) only when an identifier is found in them — so a
        column of plain names, addresses, numbers or dates costs no Python. Spans stay numpy
        arrays (no object per span): overlaps are found vectorised, only those rows reach
        :meth:`_resolve`. ``remember``: keep the spans for :meth:`find_many` of scanners without
        allow-lists (classification before masking the same texts; masking ignores allow-lists);
        then ``worded`` rows are searched in full for the memo, the table is the same.
        ``classes``: :func:`~classifier.charclass.value_classes` of ``values``, if the caller has them."""
        with gc_paused():  # matches, offsets and texts as Python objects, nearly no garbage
            return self._spans_in(values, worded, remember, classes)

    def _spans_in(self, values: pa.Array, worded: np.ndarray | None, remember: bool,
                  classes: np.ndarray | None) -> SpanTable:
        code = self._code
        dropped: list[np.ndarray] = []  # rows where an allow-listed span was left out
        rows_p: list[np.ndarray] = []
        starts: list[np.ndarray] = []
        stops: list[np.ndarray] = []
        ents: list[np.ndarray] = []
        if len(values) == 0:
            return _table(rows_p, starts, stops, ents, self.names)
        lengths = pc.utf8_length(values).to_numpy(zero_copy_only=False)
        if classes is None:
            classes = value_classes(values)
        toks = tokens(values, self._token_min) if self._token_min else None
        texts = _Texts(values)
        for rec, pattern, shape in zip(self.patterned, self._python, self._holds):
            parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, pa.Array]] = []
            search = (lengths >= rec.MIN_LEN) & shape.holds(classes)
            if toks is not None and rec.ENTITY in TOKEN_ENTITIES:
                search &= toks.glued  # the other rows: their spans are whole tokens
                sel = np.flatnonzero((toks.length >= rec.MIN_LEN) & (toks.length <= rec.MAX_LEN))
                if sel.size:
                    cand = toks.values.take(pa.array(sel))
                    matched = rec.fullmatch(cand)
                    sel = sel[matched]
                    parts.append((toks.row[sel], toks.start[sel], toks.start[sel] + toks.length[sel],
                                  cand.filter(pa.array(matched))))
            rows = np.flatnonzero(search)
            if rows.size:
                sub = values if rows.size == len(values) else values.take(pa.array(rows))
                hit = pc.fill_null(pc.match_substring_regex(sub, rec.CORE), False).to_numpy(zero_copy_only=False)
                if hit.any():
                    found = [(i, m.start(), m.end()) for i in rows[hit].tolist()
                             for m in pattern.finditer(texts[i])]
                    if found:
                        r, a, b = (np.array(x, dtype=np.int64) for x in zip(*found))
                        parts.append((r, a, b, pa.array([texts[i][x:y] for i, x, y in found], type=pa.string())))
            if not parts:
                continue
            row = np.concatenate([p[0] for p in parts])
            start = np.concatenate([p[1] for p in parts])
            stop = np.concatenate([p[2] for p in parts])
            spans = pa.concat_arrays([p[3] for p in parts])
            ok = rec.validate_many(pc.utf8_upper(spans) if rec.ENTITY == "CN_RESIDENT_ID" else spans)
            valid = np.flatnonzero(ok)  # context rules only for spans that pass validation
            if valid.size:
                ok[valid] = self._plausible_many(rec.ENTITY, texts, row[valid], start[valid],
                                                 spans.take(pa.array(valid)))
            allowed = self.allow.get(rec.ENTITY)
            if allowed:
                listed = pc.is_in(spans, value_set=pa.array(sorted(allowed), type=pa.string())) \
                    .to_numpy(zero_copy_only=False) & ok
                if listed.any():
                    ok &= ~listed
                    dropped.append(row[listed])
            rows_p.append(row[ok])
            starts.append(start[ok])
            stops.append(stop[ok])
            ents.append(np.full(int(ok.sum()), code[rec.ENTITY], dtype=np.int64))
        search = (classes & NON_ASCII) != 0
        skip: np.ndarray | None = None  # rows whose context the column does not count
        if worded is not None:
            has_id = np.zeros(len(values), dtype=bool)
            for r in rows_p:
                has_id[r] = True
            skip = worded & ~has_id
            if not remember:
                search &= ~skip
        rows = np.flatnonzero(search)
        if rows.size:
            sub = values if rows.size == len(values) else values.take(pa.array(rows))
            for entity, j, a, b in self.context.find_arrays(sub, texts.pick(rows)):
                rows_p.append(rows[j])
                starts.append(a)
                stops.append(b)
                ents.append(np.full(j.size, code[entity], dtype=np.int64))
        table = self._resolve_table(_table(rows_p, starts, stops, ents, self.names))
        if remember:
            # only rows whose spans are what a scanner without allow-lists finds
            plain = np.ones(len(values), dtype=bool)
            for r in dropped:
                plain[r] = False
            self.memo.add(values, plain, table, texts.pick(np.arange(len(values))))
            if skip is not None and skip.any():
                # skipped rows hold context spans only (no identifier): dropping them whole
                # leaves the other rows as a search without them would have found them
                table = _filtered(table, ~skip[table.row])
        return table

    def find_in(self, values: pa.Array, worded: np.ndarray | None = None) -> dict[int, list[Span]]:
        """Row → validated, non-overlapping spans (sorted by start), for the rows holding any."""
        return self.spans_in(values, worded).by_row()

    def _resolve_table(self, t: SpanTable) -> SpanTable:
        """Rows whose spans overlap go through :meth:`_resolve`; the others are already final."""
        if t.row.size <= 1:
            return t
        t = self._without_duplicates(t)
        # sorted by row then start, a span overlaps an earlier one of its row iff it starts
        # before the running maximum of their ends (rows offset so they never mix)
        width = int(t.stop.max()) + 1
        key_start = t.rank * width + t.start
        key_stop = t.rank * width + t.stop
        running = np.maximum.accumulate(key_stop)
        clash = np.zeros(t.row.size, dtype=bool)
        clash[1:] = key_start[1:] < running[:-1]
        if not clash.any():
            return t
        in_bad = np.isin(t.row, np.unique(t.row[clash]))
        keep = ~in_bad
        names, code = t.names, self._code
        groups: dict[int, list[Span]] = {}
        ranks: dict[int, int] = {}
        for i in np.flatnonzero(in_bad).tolist():
            r = int(t.row[i])
            groups.setdefault(r, []).append(Span(names[int(t.entity[i])], int(t.start[i]), int(t.stop[i])))
            ranks[r] = int(t.rank[i])
        fixed = [(r, s.start, s.end, code[s.entity], ranks[r]) for r, spans in groups.items()
                 for s in self._resolve(spans)]
        fr, fa, fb, fe, fk = (np.array(x, dtype=np.int64) for x in zip(*fixed))
        return _sorted(SpanTable(np.concatenate([t.row[keep], fr]), np.concatenate([t.start[keep], fa]),
                                 np.concatenate([t.stop[keep], fb]), np.concatenate([t.entity[keep], fe]),
                                 np.concatenate([t.rank[keep], fk]), names))

    def _without_duplicates(self, t: SpanTable) -> SpanTable:
        """Spans found twice (an address after a cue word is also found by its divisions; an ID
        number also passes Luhn) keep only the recognizer listed first, as :meth:`_resolve`
        would: the copy never survives there. Vectorised because they are most overlaps (2,350
        of 2,650 rows in the bench's 50,000 texts; :meth:`_resolve` per row took ~70 ms)."""
        width = int(t.stop.max()) + 1
        key = (t.rank * width + t.start) * width + t.stop
        order = np.lexsort((self._priority_of[t.entity], key))
        ordered = key[order]
        first = np.ones(ordered.size, dtype=bool)
        first[1:] = ordered[1:] != ordered[:-1]
        if first.all():
            return t
        keep = np.zeros(t.row.size, dtype=bool)
        keep[order[first]] = True
        return _filtered(t, keep)

    def find_many(self, texts: list[str]) -> list[list[Span]]:
        """Spans per text (texts already NFKC or :func:`normalize`)."""
        known = self.find_shared(texts)
        return [list(known[t]) for t in texts]

    def find_shared(self, texts: list[str]) -> dict[str, list[Span]]:
        """Text → its spans, for each of ``texts``: lists shared with the memo (do not change them)."""
        known: dict[str, list[Span]] = {} if self.allow else self.memo.take(texts)
        todo = [t for t in dict.fromkeys(texts) if t not in known]
        if todo:
            found = self.find_in(pa.array(todo, type=pa.string()))
            none: list[Span] = []
            known.update((t, found.get(i, none)) for i, t in enumerate(todo))
        return known

    def find(self, text: str) -> list[Span]:
        return self.find_many([normalize(text)])[0]

    def _plausible_many(self, entity: str, texts: _Texts, row: np.ndarray, start: np.ndarray,
                        spans: pa.Array) -> np.ndarray:
        """Context rules for look-alikes that pass validation: order numbers (a digit identifier
        right after 订单号, 编号 …), bank cards off the issuer ranges with no card word nearby.
        Only rows holding such a word are looked at in Python."""
        ok = np.ones(len(row), dtype=bool)
        if entity in _DIGIT_ENTITIES:
            worded = np.flatnonzero(texts.has(_NOT_PERSONAL_PATTERN)[row])
            for k, r, s in zip(worded.tolist(), row[worded].tolist(), start[worded].tolist()):
                ok[k] = not texts[r][max(0, s - 8):s].rstrip(":： ").endswith(_NOT_PERSONAL)
        if entity == "CN_BANK_CARD":
            issuer = pc.fill_null(pc.match_substring_regex(spans, _CARD_PREFIX_PATTERN), False) \
                .to_numpy(zero_copy_only=False)
            off = np.flatnonzero(ok & ~issuer)
            for k, r, s in zip(off.tolist(), row[off].tolist(), start[off].tolist()):
                before = texts[r][max(0, s - 12):s]
                ok[k] = any(c in before for c in _CARD_CUES)
        return ok

    def _resolve(self, spans: list[Span]) -> list[Span]:
        """Overlaps: the longer span wins, then the recognizer listed first (most specific)."""
        if len(spans) <= 1:
            return spans
        spans.sort(key=lambda s: s.start)
        if all(a.end <= b.start for a, b in zip(spans, spans[1:])):
            return spans
        order = sorted(spans, key=lambda s: (-(s.end - s.start), self.priority.get(s.entity, 99)))
        kept: list[Span] = []
        for s in order:
            if all(s.end <= k.start or s.start >= k.end for k in kept):
                kept.append(s)
        return sorted(kept, key=lambda s: s.start)


class ShuweiTextRecognizer(EntityRecognizer):
    """Presidio's interface to :class:`TextScanner`: ``AnalyzerEngine`` with this recognizer finds
    the same spans as the column engine (same recognizers, same validators)."""

    def __init__(self, scanner: TextScanner | None = None) -> None:
        self.scanner = scanner or TextScanner()
        super().__init__(supported_entities=list(dict.fromkeys(self.scanner.entities)),
                         name="ShuweiTextRecognizer", supported_language=LANGUAGE)

    def load(self) -> None:
        """Nothing to load: patterns are compiled in the scanner, the segmenter lazily."""

    def analyze(self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
                ) -> list[RecognizerResult]:
        wanted = set(entities) if entities else None
        return [RecognizerResult(s.entity, s.start, s.end, 0.9) for s in self.scanner.find(text)
                if wanted is None or s.entity in wanted]


def build_text_analyzer(scanner: TextScanner | None = None) -> AnalyzerEngine:
    """A Presidio ``AnalyzerEngine`` for Chinese free text (no NLP model, nothing downloaded)."""
    registry = RecognizerRegistry(supported_languages=[LANGUAGE])
    registry.add_recognizer(ShuweiTextRecognizer(scanner))
    nlp = NoOpNlpEngine(models=[{"lang_code": LANGUAGE, "model_name": "noop"}])
    return AnalyzerEngine(registry=registry, nlp_engine=nlp, supported_languages=[LANGUAGE])



def span_counts(spans: list[Span]) -> dict[str, int]:
    """Entity → number of spans: what a decision may say about a text (never the values)."""
    out: dict[str, int] = {}
    for s in spans:
        out[s.entity] = out.get(s.entity, 0) + 1
    return out
