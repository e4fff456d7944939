"""SQL tables through a SQLAlchemy URL (SQLite tested; PostgreSQL/MySQL with their usual drivers).

``sqlite:///pop.db`` scans every table, ``sqlite:///pop.db#persons`` one table. Rows are streamed
with a server-side cursor where the driver has one (``stream_results``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from classifier.errors import InputError
from classifier.readers.base import ReadOptions, batch_from_columns


def _safe(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<invalid URL>"


def _engine(url: str) -> sa.Engine:
    shown = _safe(url)
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise InputError(shown, "not a valid SQLAlchemy URL") from None
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        if not Path(parsed.database).is_file():  # SQLite would silently create an empty database
            raise InputError(shown, "no such SQLite database file")
    try:
        engine = sa.create_engine(parsed)
        with engine.connect():
            pass
    except NoSuchModuleError:
        raise InputError(shown, f"no SQLAlchemy dialect/driver for '{parsed.drivername}'") from None
    except ModuleNotFoundError as exc:
        raise InputError(shown, f"database driver not installed ({exc.name})") from None
    except SQLAlchemyError as exc:
        reason = type(getattr(exc, "orig", None) or exc).__name__
        raise InputError(shown, f"cannot connect ({reason})") from None
    return engine


def sql_sources(text: str, options: ReadOptions) -> list[SqlTableSource]:
    url, _, table = text.partition("#")
    engine = _engine(url)
    shown = _safe(url)
    try:
        tables = sa.inspect(engine).get_table_names()
    except SQLAlchemyError as exc:
        raise InputError(shown, f"cannot list tables ({type(exc).__name__})") from None
    if table:
        if table not in tables:
            raise InputError(f"{shown}#{table}", "no such table")
        tables = [table]
    if not tables:
        raise InputError(shown, "the database has no tables")
    return [SqlTableSource(engine, shown, t, options) for t in tables]


class SqlTableSource:
    def __init__(self, engine: sa.Engine, shown_url: str, table: str, options: ReadOptions) -> None:
        self.engine = engine
        self.table_name = table
        self.options = options
        self.dataset = table
        self.source = f"{shown_url}#{table}"
        self.table = sa.Table(table, sa.MetaData(), autoload_with=engine)

    def fingerprint(self) -> dict[str, Any]:
        """Row count and the largest primary key: an unchanged table is skipped on re-scan."""
        pk = list(self.table.primary_key.columns)
        query: list[sa.ColumnElement[Any]] = [sa.func.count()]
        if len(pk) == 1:
            query.append(sa.func.max(pk[0]))
        try:
            with self.engine.connect() as conn:
                row = conn.execute(sa.select(*query).select_from(self.table)).one()
        except SQLAlchemyError as exc:
            raise InputError(self.source, f"cannot read the table ({type(exc).__name__})") from None
        return {"rows": int(row[0]), "max_key": str(row[1]) if len(row) > 1 else None}

    def open(self) -> tuple[list[str], Iterator[pa.RecordBatch], bool]:
        names = [c.name for c in self.table.columns]
        return names, self._batches(names), True

    def _batches(self, names: list[str]) -> Iterator[pa.RecordBatch]:
        limit, seen = self.options.max_cell_bytes, 0
        try:
            with self.engine.connect() as conn:
                result = conn.execution_options(stream_results=True).execute(sa.select(self.table))
                for part in result.partitions(self.options.batch_rows):
                    cols: list[list[str | None]] = [[] for _ in names]
                    for row in part:
                        for i, value in enumerate(row):
                            text = None if value is None else (
                                value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value))
                            if text is not None and len(text) > limit:
                                raise InputError(f"{self.source} row {seen + 1}",
                                                 f"column '{names[i]}': a value exceeds the {limit:,}-byte limit")
                            cols[i].append(text)
                        seen += 1
                    yield batch_from_columns(names, cols)
        except SQLAlchemyError as exc:
            raise InputError(self.source, f"cannot read the table ({type(exc).__name__})") from None
        if seen == 0:
            raise InputError(self.source, "the table has no rows")
