"""Readers by file type or URL; each yields string-typed Arrow batches (see ``base``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from classifier.errors import InputError
from classifier.readers.base import ReadOptions, Source, check_file
from classifier.readers.csv_reader import CsvSource
from classifier.readers.json_reader import JsonSource
from classifier.readers.parquet_reader import ParquetSource


def _xlsx(path: Path, options: ReadOptions) -> Source:
    # openpyxl costs ~0.1 s of import and SQLAlchemy ~0.2 s: only the commands that read
    # those formats pay for them, not every CSV or JSON scan.
    from classifier.readers.xlsx_reader import XlsxSource
    return XlsxSource(path, options)


def _is_url(text: str) -> bool:
    return "://" in text.split("#", 1)[0]

_BY_SUFFIX: dict[str, Callable[[Path, ReadOptions], Source]] = {
              ".csv": CsvSource, ".tsv": CsvSource, ".tab": CsvSource, ".txt": CsvSource,
              ".jsonl": JsonSource, ".ndjson": JsonSource, ".json": JsonSource,
              ".parquet": ParquetSource, ".pq": ParquetSource, ".xlsx": _xlsx, ".xlsm": _xlsx}


def open_sources(text: str, options: ReadOptions) -> list[Source]:
    """One source per dataset: a file, or every (or one ``#table``) table behind a SQL URL."""
    if _is_url(text):
        from classifier.readers.sql_reader import sql_sources
        return list(sql_sources(text, options))
    path = Path(text)
    check_file(path)
    reader = _BY_SUFFIX.get(path.suffix.lower())
    if reader is None:
        raise InputError(str(path), f"unsupported file type '{path.suffix or '(none)'}' "
                         "(csv, tsv, jsonl, json, parquet, xlsx, or a SQLAlchemy URL)")
    return [reader(path, options)]


__all__ = ["ReadOptions", "Source", "open_sources"]
