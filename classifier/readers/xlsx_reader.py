"""Excel .xlsx through openpyxl in read-only mode (rows streamed); the first worksheet, first row = header."""

from __future__ import annotations

import datetime as dt
import zipfile
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from classifier.errors import InputError
from classifier.readers.base import FileSource, batch_from_columns, check_file, unique_names


def _cell(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime) and value.time() == dt.time(0):
        return value.date().isoformat()
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


class XlsxSource(FileSource):
    def open(self) -> tuple[list[str], Iterator[pa.RecordBatch], bool]:
        check_file(self.path)
        try:
            wb = load_workbook(self.path, read_only=True, data_only=True)
        except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError) as exc:
            raise InputError(str(self.path), f"not a readable .xlsx workbook ({type(exc).__name__})") from None
        ws = wb.worksheets[0]
        rows = ws.iter_rows(values_only=True)
        header = next(rows, None)
        if header is None or all(v is None for v in header):
            wb.close()
            raise InputError(f"{self.path}:{ws.title}:1", "empty worksheet (no header row)")
        names = unique_names(list(header))
        return names, self._batches(wb, ws.title, rows, names), True

    def _batches(self, wb: Any, sheet: str, rows: Iterator[tuple[Any, ...]],
                 names: list[str]) -> Iterator[pa.RecordBatch]:
        width, limit = len(names), self.options.max_cell_bytes
        cols: list[list[str | None]] = [[] for _ in names]
        seen = 0
        try:
            for number, row in enumerate(rows, start=2):
                if all(v is None for v in row):
                    continue
                if len(row) > width and any(v is not None for v in row[width:]):
                    raise InputError(f"{self.path}:{sheet}:{number}",
                                     f"ragged row: {len(row)} cells under {width} headers")
                for i in range(width):
                    text = _cell(row[i]) if i < len(row) else None
                    if text is not None and len(text) > limit:
                        raise InputError(f"{self.path}:{sheet}:{number}",
                                         f"column '{names[i]}': a cell exceeds the {limit:,}-byte limit")
                    cols[i].append(text)
                seen += 1
                if len(cols[0]) >= self.options.batch_rows:
                    yield batch_from_columns(names, cols)
                    cols = [[] for _ in names]
            if cols[0]:
                yield batch_from_columns(names, cols)
            if seen == 0:
                raise InputError(f"{self.path}:{sheet}", "header only: the worksheet has no data rows")
        finally:
            wb.close()
