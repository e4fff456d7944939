"""Hunt-only pruning: skip feeding correlation groups that provably never fire.

A correlation whose condition needs a count, distinct count or (non-negative) sum to *reach* a
threshold (gt/gte/eq) cannot fire in any window of a group whose total over the whole table stays
below it: a window holds a subset of the group's events. SQLite computes those totals in one
aggregate per correlation, and the events of dead groups are then not fed through Python at all.
Only feeding is skipped: live groups get every event, so the matches are exactly those of
streaming (the parity tests run with pruning on). Where a bound is not provable (averages,
extended temporal conditions, list values, negative sums) nothing is pruned.

Group keys are computed with the columns' own collation, so SQL may merge groups Python keeps
apart (``U1``/``u1``); merging only raises totals, which keeps the bound safe.
"""

from __future__ import annotations

import json
import sqlite3

from sigma.correlations import SigmaCorrelationConditionOperator as Op
from sigma.correlations import SigmaCorrelationType as CT

from soc.detection.correlation import CorrelationEngine, _Correlation
from soc.detection.fields import json_path
from soc.detection.sqlbackend import TableLayout

_REACHING = {Op.GT: ">", Op.GTE: ">=", Op.EQ: ">="}


def _field_sql(layout: TableLayout, name: str) -> tuple[str, str] | None:
    """(value expression, 'is a container' expression) or None when not prunable."""
    if name in layout.scalar_columns:
        return f'"{name}"', "0"
    head = name.partition(".")[0]
    if head in layout.json_columns:
        return None
    path = json_path(name)
    return (f"json_extract({layout.doc_column}, '{path}')",
            f"(json_type({layout.doc_column}, '{path}') IN ('array', 'object'))")


_NUMERIC = "CASE WHEN typeof(v) IN ('integer', 'real') THEN v END"


def _having(corr: _Correlation) -> str | None:
    """HAVING clause true for every group that may fire (an upper bound of the measure)."""
    bounds = [(_REACHING[c.op], c.count) for c in corr.conditions if c.op in _REACHING]
    if corr.extended is not None or not bounds:
        return None
    if corr.type == CT.TEMPORAL_ORDERED:
        # reaching step n needs n events and every distinct rule among the first n steps
        index = {b: i for i, b in enumerate(dict.fromkeys(corr.order))}
        parts = []
        for op, count in bounds:
            steps = count + 1 if op == ">" else count
            needed = sorted({index[b] for b in corr.order[:steps]})
            parts.append(f"COUNT(DISTINCT k) >= {steps}")
            if needed:
                parts.append(f"COUNT(DISTINCT CASE WHEN r IN ({', '.join(map(str, needed))}) "
                             f"THEN r END) >= {len(needed)}")
        return " AND ".join(parts)
    measure = {
        CT.EVENT_COUNT: "COUNT(DISTINCT k)",
        CT.VALUE_COUNT: "COUNT(DISTINCT v COLLATE BINARY)",
        CT.VALUE_SUM: f"TOTAL({_NUMERIC})",
        # an average, median or percentile of a window never exceeds the group's maximum
        CT.VALUE_AVG: f"MAX({_NUMERIC})",
        CT.VALUE_MEDIAN: f"MAX({_NUMERIC})",
        CT.VALUE_PERCENTILE: f"MAX({_NUMERIC})",
        CT.TEMPORAL: "COUNT(DISTINCT r)",
    }.get(corr.type)
    if measure is None:
        return None
    cond = " AND ".join(f"{measure} {op} {count}" for op, count in bounds)
    # no bound over containers (counted element-wise in Python) or negative sums
    escape = "MAX(c) = 1"
    if corr.type == CT.VALUE_SUM:
        escape += f" OR MIN({_NUMERIC}) < 0"
    return f"({cond}) OR {escape}"


def live_rows(conn: sqlite3.Connection, layout: TableLayout, corr: _Correlation,
              rows_by_rule: dict[str, set[int]]) -> set[int] | None:
    """Rows of ``corr``'s base rules in groups that may fire; None = cannot tell (keep all)."""
    having = _having(corr)
    if having is None or not all(b in rows_by_rule for b in corr.order):
        return None  # no bound, or fed by a correlation's matches (not by table rows)
    selects, params = [], []
    for i, base in enumerate(dict.fromkeys(corr.order)):
        cols = []
        for j, name in enumerate(corr.group_fields[base]):
            sql = _field_sql(layout, name)
            if sql is None:
                return None
            cols.append(f"{sql[0]} AS g{j}")
        container = "0"
        value = "NULL"
        if corr.value_fields:
            sql = _field_sql(layout, corr.value_fields[base])
            if sql is None:
                return None
            value, container = sql
        selects.append(
            f"SELECT {layout.key_column} AS k, {i} AS r, {value} AS v, {container} AS c"
            + "".join(f", {c}" for c in cols)
            + f" FROM {layout.table} WHERE {layout.key_column} IN (SELECT value FROM json_each(?))")
        params.append(json.dumps(sorted(rows_by_rule.get(base, ()))))
    groups = [f"g{j}" for j in range(len(corr.group_names))]
    group_by = f" GROUP BY {', '.join(groups)}" if groups else ""
    join = " AND ".join(f"b.{g} IS l.{g}" for g in groups) or "1"
    statement = (f"WITH base AS ({' UNION ALL '.join(selects)}), "
                 f"live AS (SELECT {', '.join(groups) or '1 AS one'} FROM base{group_by} HAVING {having}) "
                 f"SELECT DISTINCT b.k FROM base b JOIN live l ON {join}")
    return {k for (k,) in conn.execute(statement, params)}


def prune(conn: sqlite3.Connection, layout: TableLayout, engine: CorrelationEngine,
          output: set[str], rows_by_rule: dict[str, set[int]]) -> dict[str, set[int]]:
    """The rows each base rule still has to be fed for (output rules keep all of theirs)."""
    live = {id(c): live_rows(conn, layout, c, rows_by_rule) for c in engine.correlations}
    out: dict[str, set[int]] = {}
    for rule, rows in rows_by_rule.items():
        corrs = engine.by_base.get(rule)
        if rule in output or not corrs:
            out[rule] = rows
            continue
        needed: set[int] = set()
        for c in corrs:
            alive = live[id(c)]
            needed |= rows if alive is None else rows & alive
        out[rule] = needed
    return out
