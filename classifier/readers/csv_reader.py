"""CSV/TSV: UTF-8 (with or without BOM) or GBK/GB18030, parsed by Arrow's streaming CSV reader.

The fast path is ``pyarrow.csv.open_csv`` in blocks; on a parse failure a slow diagnostic pass with
the stdlib ``csv`` module locates the offending line, so errors name it without echoing content.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import charset_normalizer
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from classifier.errors import InputError
from classifier.readers.base import FileSource, check_file, unique_names

_HEAD = 1 << 20
_GB = {"gb2312", "gbk", "gb18030", "hz", "cp936"}
_DATA_LIKE = ("CN_RESIDENT_ID", "CN_MOBILE", "EMAIL_ADDRESS", "CN_USCC", "CN_BANK_CARD",
              "IP_ADDRESS", "MAC_ADDRESS", "CN_PASSPORT", "CN_HK_MACAO_PERMIT", "CN_LICENSE_PLATE",
              "CN_LANDLINE", "GEO_COORDINATE")


def detect_encoding(path: Path, head: bytes) -> str:
    """UTF-8 (BOM or not) first; otherwise charset-normalizer, GB family widened to GB18030."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8"
    try:
        head.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        if exc.start >= len(head) - 3 and len(head) == _HEAD:  # a character cut by the head limit
            return "utf-8"
        bad_line = head[:exc.start].count(b"\n") + 1
    best = charset_normalizer.from_bytes(head).best()
    if best is None:
        raise InputError(f"{path}:{bad_line}", "bytes that are not valid UTF-8, and the encoding cannot "
                         "be detected (expected UTF-8 or GBK/GB18030)")
    enc = best.encoding.lower().replace("_", "")
    return "gb18030" if enc in _GB or enc.startswith("gb") else best.encoding


def allow_field_size(limit: int) -> None:
    """Let the stdlib csv module read cells up to ``limit`` (its default, 128 KiB, is below ours);
    the setting is process-wide, so it only ever grows. Cells above the reader's own limit are
    refused by the caller with a line number."""
    if csv.field_size_limit() < limit:
        csv.field_size_limit(limit)


def _looks_like_data(cells: list[str]) -> bool:
    """A first row holding identifier-shaped values (or numbers) is data: the file is headerless."""
    # Imported here: the recognizers pull in Presidio and spaCy (~1.5 s), which masking a file
    # (crypto.records_io reuses this reader's helpers) and the CLI's start-up do not need.
    from classifier.recognizers import all_recognizers

    recs = [r for r in all_recognizers() if r.ENTITY in _DATA_LIKE]
    for cell in cells:
        text = cell.strip()
        if not text:
            continue
        if text.replace(".", "", 1).lstrip("-").isdigit():
            return True
        arr = pa.array([text])
        for rec in recs:
            if rec.fullmatch(arr)[0] and rec.validate_many(arr)[0]:
                return True
    return False


class CsvSource(FileSource):
    def _sniff(self) -> tuple[str, str, list[list[str]]]:
        with open(self.path, "rb") as fh:
            head = fh.read(_HEAD)
        encoding = detect_encoding(self.path, head)
        text = head.decode(encoding, errors="ignore").lstrip("\ufeff")
        lines = text.splitlines()
        if self.path.suffix.lower() in (".tsv", ".tab"):
            delimiter = "\t"
        else:
            first = lines[0] if lines else ""
            delimiter = max([",", "\t", ";", "|"], key=first.count)
        allow_field_size(_HEAD)  # a cell cut by the head limit is shorter than the head
        rows = list(csv.reader(io.StringIO("\n".join(lines[:3])), delimiter=delimiter))
        return encoding, delimiter, rows

    def open(self) -> tuple[list[str], Iterator[pa.RecordBatch], bool]:
        check_file(self.path)
        encoding, delimiter, rows = self._sniff()
        if not rows or not any(c.strip() for c in rows[0]):
            raise InputError(f"{self.path}:1", "no header or data in the first line")
        header = self.options.header
        has_header = header == "yes" or (header == "auto" and not _looks_like_data(rows[0]))
        if has_header and len(rows) < 2:
            raise InputError(str(self.path), "header only: the file has no data rows")
        names = unique_names(rows[0]) if has_header else [f"column_{i}" for i in range(1, len(rows[0]) + 1)]
        return names, self._batches(names, encoding, delimiter, has_header), has_header

    def _batches(self, names: list[str], encoding: str, delimiter: str,
                 has_header: bool) -> Iterator[pa.RecordBatch]:
        bad_rows: list[tuple[int | None, int, int]] = []

        def on_invalid(row: Any) -> str:
            bad_rows.append((row.number, row.expected_columns, row.actual_columns))
            return "error"

        read = pacsv.ReadOptions(encoding=encoding, column_names=names,
                                 skip_rows=1 if has_header else 0, use_threads=False,
                                 block_size=max(4 << 20, 2 * self.options.max_cell_bytes))
        parse = pacsv.ParseOptions(delimiter=delimiter, invalid_row_handler=on_invalid,
                                   newlines_in_values=True)
        convert = pacsv.ConvertOptions(column_types={n: pa.string() for n in names},
                                       strings_can_be_null=False)
        first_line = 2 if has_header else 1
        rows_before = 0
        try:
            reader = pacsv.open_csv(self.path, read_options=read, parse_options=parse,
                                    convert_options=convert)
            for batch in reader:
                self._check_cells(batch, first_line + rows_before)
                rows_before += batch.num_rows
                yield batch
        except (pa.ArrowException, UnicodeDecodeError) as exc:
            if bad_rows:
                number, expected, actual = bad_rows[0]
                line = f"{self.path}:{number}" if number else str(self.path)
                raise InputError(line, f"ragged row: expected {expected} fields, found {actual}") from None
            raise self._diagnose(encoding, delimiter, exc) from None
        if rows_before == 0:
            raise InputError(str(self.path), "header only: the file has no data rows")

    def _check_cells(self, batch: pa.RecordBatch, first_line: int) -> None:
        limit = self.options.max_cell_bytes
        for name, col in zip(batch.schema.names, batch.columns):
            sizes = pc.binary_length(col)
            biggest = pc.max(sizes).as_py() or 0
            if biggest > limit:
                row = int(np.argmax(sizes.to_numpy(zero_copy_only=False)))
                raise InputError(f"{self.path}:{first_line + row}",
                                 f"column '{name}': a cell of {biggest:,} bytes exceeds the "
                                 f"{limit:,}-byte limit")

    def _diagnose(self, encoding: str, delimiter: str, exc: Exception) -> InputError:
        """Slow pass to find the line Arrow choked on (never quotes the content)."""
        limit = self.options.max_cell_bytes
        with open(self.path, "rb") as raw:
            for number, data in enumerate(raw, start=1):
                try:
                    data.decode(encoding)
                except UnicodeDecodeError:
                    return InputError(f"{self.path}:{number}",
                                      f"bytes that are not valid {encoding} (wrong or mixed encoding)")
        allow_field_size(limit)
        line = 0
        try:
            with open(self.path, encoding=encoding, newline="", errors="strict") as fh:
                reader = csv.reader(fh, delimiter=delimiter)
                width = None
                for row in reader:
                    line = reader.line_num
                    if width is None:
                        width = len(row)
                    elif len(row) != width:
                        return InputError(f"{self.path}:{line}",
                                          f"ragged row: expected {width} fields, found {len(row)}")
                    for cell in row:
                        if len(cell.encode("utf-8")) > limit:
                            return InputError(f"{self.path}:{line}",
                                              f"a cell exceeds the {limit:,}-byte limit")
        except UnicodeDecodeError:
            return InputError(f"{self.path}:{line + 1}",
                              f"bytes that are not valid {encoding} (wrong or mixed encoding)")
        except csv.Error as err:
            where = f"{self.path}:{line + 1}"
            if "field larger" in str(err):
                return InputError(where, f"a cell exceeds the {limit:,}-byte limit")
            return InputError(where, f"malformed CSV ({err})")
        return InputError(str(self.path), f"cannot parse as CSV ({type(exc).__name__})")
