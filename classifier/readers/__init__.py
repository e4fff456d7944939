"""Readers by file type or URL; each yields string-typed Arrow batches (see ``base``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from classifier.errors import InputError
from classifier.readers.base import ReadOptions, Source, check_file
from classifier.readers.csv_reader import CsvSource
from classifier.readers.json_reader import JsonSource
from classifier.readers.parquet_reader import ParquetSource
from classifier.readers.sql_reader import is_url, sql_sources
from classifier.readers.xlsx_reader import XlsxSource

_BY_SUFFIX: dict[str, Callable[[Path, ReadOptions], Source]] = {
              ".csv": CsvSource, ".tsv": CsvSource, ".tab": CsvSource, ".txt": CsvSource,
              ".jsonl": JsonSource, ".ndjson": JsonSource, ".json": JsonSource,
              ".parquet": ParquetSource, ".pq": ParquetSource, ".xlsx": XlsxSource, ".xlsm": XlsxSource}


def open_sources(text: str, options: ReadOptions) -> list[Source]:
    """One source per dataset: a file, or every (or one ``#table``) table behind a SQL URL."""
    if is_url(text):
        return list(sql_sources(text, options))
    path = Path(text)
    check_file(path)
    reader = _BY_SUFFIX.get(path.suffix.lower())
    if reader is None:
        raise InputError(str(path), f"unsupported file type '{path.suffix or '(none)'}' "
                         "(csv, tsv, jsonl, json, parquet, xlsx, or a SQLAlchemy URL)")
    return [reader(path, options)]


__all__ = ["ReadOptions", "Source", "open_sources"]
