"""Hunt / backtest: run a rule pack over a JSON Lines file or the stored events.

Two backends with identical results: ``memory`` streams events through the StreamingDetector;
``sqlite`` converts every rule to SQL with pySigma-backend-sqlite (sqlbackend.JsonHuntBackend)
and runs it over a table, then feeds the matching rows, in order, through the same
MatchAssembler (and so the same correlation windows) as streaming.
"""

from __future__ import annotations

import copy
import json
import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sigma.exceptions import SigmaError
from sigma.processing.pipeline import ProcessingItem, ProcessingPipeline
from sigma.processing.transformations import ValueListPlaceholderTransformation
from sigma.rule import SigmaRule

from classifier import jsonl, progress
from soc.detection.compiler import Placeholders
from soc.detection.fields import json_path
from soc.detection.logsource import EXCHANGE, Label, applies, rule_label
from soc.detection.timeutil import TIME_FIELDS
from soc.detection.match import Match
from soc.detection.pack import RuleLoadError, RulePack, rule_key
from soc.detection.prune import prune
from soc.detection.sqlbackend import (
    JsonHuntBackend,
    TableLayout,
    jsonl_layout,
    register_functions,
    store_layout,
)
from soc.detection.streaming import MatchAssembler, StreamingDetector

BACKENDS = ("memory", "sqlite")
_SQLITE_MAGIC = b"SQLite format 3\x00"


class HuntResult(list[Match]):
    """Matches in event order, plus what could not be evaluated."""

    def __init__(self) -> None:
        super().__init__()
        self.errors: list[RuleLoadError] = []      # rules that could not be run
        self.input_errors: list[str] = []          # lines that are not JSON objects


class HuntInputError(ValueError):
    """The source cannot be read at all (missing file, not a store)."""


def read_jsonl(path: Path, errors: list[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    """(1-based line, event) of every JSON object line; other lines are reported, not fatal."""
    try:
        fh = path.open("rb")
    except OSError as exc:
        raise HuntInputError(f"{path}: cannot read: {exc.strerror}") from None
    with fh:
        for number, event in jsonl.read(fh):
            if isinstance(event, jsonl.JsonlError):
                errors.append(f"{path}:{number}: {event.reason}")
                continue
            yield number, event


def is_sqlite_file(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            return fh.read(16) == _SQLITE_MAGIC
    except OSError:
        return False


def _stored_events(db: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    conn = _open_store(db)
    try:
        for seq, doc in conn.execute("SELECT seq, doc FROM events ORDER BY seq"):
            yield seq, json.loads(doc)
    finally:
        conn.close()


def _open_store(db: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(f"file:{quote(str(db.resolve()))}?mode=ro", uri=True)
    try:
        conn.execute("SELECT seq, doc FROM events LIMIT 0")
    except sqlite3.Error as exc:
        conn.close()
        raise HuntInputError(f"{db}: not a Shuwei event store ({exc})") from None
    return conn


def hunt(pack: RulePack, source: str | Path | Iterable[dict[str, Any]] | Any, backend: str = "memory",
         placeholders: Placeholders | None = None, logsource: Label | None = None) -> HuntResult:
    """Run ``pack`` over ``source``: a JSON Lines file, a soc.db store file (or the
    SqliteEventStore over it), any EventStore (memory backend), or event dicts.

    ``line`` is the 1-based line in a file, the position in an iterable, or the store's
    ``seq`` (arrival order) for stored events. ``logsource`` labels the events (rules that
    cannot apply to them are skipped); stored events are exchange audit events by contract.
    """
    if backend not in BACKENDS:
        raise ValueError(f"unknown hunt backend {backend!r} (memory or sqlite)")
    if isinstance(getattr(source, "path", None), Path):  # an EventStore backed by a file
        source = source.path  # type: ignore[union-attr]
    elif hasattr(source, "iter_events"):  # any other EventStore: read it in arrival order
        if backend == "sqlite":
            raise ValueError("the sqlite hunt backend needs a SQLite store file")
        source = source.iter_events()
    result = HuntResult()
    path = Path(source) if isinstance(source, (str, Path)) else None
    if path is not None and not path.is_file():
        raise HuntInputError(f"{path}: no such file")
    stored = path is not None and is_sqlite_file(path)
    if stored and logsource is None:
        logsource = EXCHANGE
    if backend == "memory":
        detector = StreamingDetector(pack, placeholders, logsource=logsource)
        if stored:
            events: Iterable[tuple[int, dict[str, Any]]] = _stored_events(path)  # type: ignore[arg-type]
        elif path is not None:
            events = read_jsonl(path, result.input_errors)
        else:
            events = enumerate(source, 1)  # type: ignore[arg-type]
        for n, (line, event) in enumerate(events, 1):
            if n % 1000 == 0:
                progress.advance("hunt (events)", 1000)
            result.extend(detector.process(event, line))
        result.errors.extend(detector.errors)  # load-time ones, and rules disabled on the way
        return result
    if stored:
        conn = _open_store(path)  # type: ignore[arg-type]
        layout = store_layout()
    else:
        conn = sqlite3.connect(":memory:")
        layout = jsonl_layout("hunt_events")
        conn.execute("CREATE TABLE hunt_events (line INTEGER PRIMARY KEY, doc TEXT NOT NULL)")
        rows = (read_jsonl(path, result.input_errors) if path is not None
                else enumerate(source, 1))  # type: ignore[arg-type]
        conn.executemany("INSERT INTO hunt_events VALUES (?, ?)",
                         ((line, json.dumps(ev, ensure_ascii=False)) for line, ev in rows))
    try:
        register_functions(conn)
        _sqlite_hunt(pack, conn, layout, placeholders, result, logsource)
    finally:
        conn.close()
    return result


def rule_queries(pack: RulePack, layout: TableLayout, placeholders: Placeholders | None,
                 errors: list[RuleLoadError], logsource: Label | None = None) -> dict[str, list[str]]:
    """SQL per base rule: ``SELECT <key> FROM <table> WHERE <condition>``."""
    pipeline = ProcessingPipeline(
        name="shuwei placeholders", vars=dict(placeholders or {}),
        items=[ProcessingItem(ValueListPlaceholderTransformation())])
    backend = JsonHuntBackend(layout, processing_pipeline=pipeline)
    out: dict[str, list[str]] = {}
    for rule in pack.rules:
        key = rule_key(rule)
        if not applies(rule_label(rule.logsource), logsource):
            continue
        try:
            queries = backend.convert_rule(detached_copy(rule))
        except (SigmaError, NotImplementedError, TypeError) as exc:
            errors.append(RuleLoadError(pack.paths.get(key, ""), key, f"sqlite backend: {exc}"))
            continue
        prefix = "SELECT * FROM "
        out[key] = [f"SELECT {layout.key_column} FROM " + q[len(prefix):] for q in queries
                    if isinstance(q, str) and q.startswith(prefix)]
    return out


def detached_copy(rule: SigmaRule) -> SigmaRule:
    """A deep copy the processing pipeline may rewrite, without its correlation back-links."""
    saved = rule._backreferences
    rule._backreferences = []
    try:
        detached = copy.deepcopy(rule)
    finally:
        rule._backreferences = saved
    detached._output = True  # correlation-only rules are queried too; the assembler hides them
    return detached


def _sqlite_hunt(pack: RulePack, conn: sqlite3.Connection, layout: TableLayout,
                 placeholders: Placeholders | None, result: HuntResult,
                 logsource: Label | None) -> None:
    rows_by_rule: dict[str, set[int]] = {}
    for key, queries in rule_queries(pack, layout, placeholders, result.errors,
                                     logsource).items():
        rows: set[int] = set()
        try:
            for sql in queries:
                rows.update(r for (r,) in conn.execute(sql))
        except sqlite3.Error as exc:
            if not any(limit in str(exc) for limit in _SQLITE_LIMITS) or key not in pack.compiled:
                result.errors.append(RuleLoadError(pack.paths.get(key, ""), key,
                                                   f"sqlite backend: {exc}"))
                continue
            rows = _predicate_rows(conn, layout, pack.compiled[key])
        rows_by_rule[key] = rows
    assembler = MatchAssembler(pack)
    rows_by_rule = prune(conn, layout, assembler.engine, assembler.output, rows_by_rule)
    matched: dict[int, set[str]] = {}
    for key, rows in rows_by_rule.items():
        for row_key in rows:
            matched.setdefault(row_key, set()).add(key)
    if not matched:
        return
    # Only the fields the assembler reads are fetched (plain columns where the table has them):
    # parsing every matching document in Python would dominate the hunt.
    names = sorted(assembler.fields() | ({"ts"} if layout.scalar_columns else set(TIME_FIELDS)))
    exprs, decode = [], []
    for name in names:
        expr, is_json = _select_expr(layout, name)
        exprs.append(expr)
        decode.append(is_json)
    sql = (f"SELECT {layout.key_column}, {', '.join(exprs)} FROM {layout.table} "
           f"WHERE {layout.key_column} IN (SELECT value FROM json_each(?)) "
           f"ORDER BY {layout.key_column}")
    for row in conn.execute(sql, (json.dumps(sorted(matched)),)):
        event: dict[str, Any] = {}
        for name, is_json, value in zip(names, decode, row[1:]):
            if value is not None:
                _put(event, name, json.loads(value) if is_json else value)
        result.extend(assembler.emit(event, row[0], matched[row[0]]))


# SQLite's compile-time limits (parser stack of 100, expression depth 1000): a rule nested or
# OR-ed beyond them is valid Sigma, so it is evaluated by its compiled predicate over the rows.
_SQLITE_LIMITS = ("parser stack overflow", "Expression tree is too large", "too many terms")


def _predicate_rows(conn: sqlite3.Connection, layout: TableLayout, pred: Any) -> set[int]:
    sql = f"SELECT {layout.key_column}, {layout.doc_column} FROM {layout.table}"
    return {key for key, doc in conn.execute(sql) if pred(json.loads(doc))}


def _select_expr(layout: TableLayout, name: str) -> tuple[str, bool]:
    """SQL reading one field, and whether it returns JSON text to decode."""
    head, _, rest = name.partition(".")
    if name in layout.scalar_columns and name not in layout.bool_columns:
        return f'"{name}"', False
    if head in layout.json_columns:
        return (f'"{head}" -> \'{json_path(rest)}\'' if rest else f'"{head}"'), True
    return f"{layout.doc_column} -> '{json_path(name)}'", True


def _put(event: dict[str, Any], name: str, value: Any) -> None:
    """Store a dotted field back as nested objects (how fields.getter reads it)."""
    *parents, leaf = name.split(".")
    node = event
    for part in parents:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            return
    node[leaf] = value
