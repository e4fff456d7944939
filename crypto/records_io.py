"""Streaming readers and writers for the formats static mode keeps: CSV/TSV and JSON Lines.

The classifier's readers yield string-typed Arrow batches for scanning; desensitizing a file must
give back the same format with the same value types, so rows are read with the stdlib here and
written the same way. Bad input raises ``classifier.errors.InputError`` naming file and line.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from classifier import jsonl
from classifier.errors import InputError
from classifier.readers.base import ReadOptions, check_file
from classifier.readers.csv_reader import allow_field_size, detect_encoding

MAX_CELL = ReadOptions().max_cell_bytes  # the same bound as classification

FORMATS = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json"}


def file_format(path: Path) -> str:
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise InputError(str(path), f"unsupported file type '{path.suffix or '(none)'}' for static "
                         "desensitization (csv, tsv, jsonl, ndjson, json)")
    return fmt


def iter_jsonl(stream: IO[bytes], origin: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object); blank lines are skipped; the first bad line is an InputError (a
    record set is desensitized whole or not at all)."""
    for number, obj in jsonl.read(stream):
        if isinstance(obj, jsonl.JsonlError):
            raise InputError(f"{origin}:{number}", obj.reason)
        yield number, obj


@dataclass
class Table:
    """An open input: its rows as dicts, and what the writer needs to reproduce the format."""

    fmt: str
    encoding: str
    header: list[str] | None
    rows: Iterator[dict[str, Any]]


def open_table(path: Path, fh_holder: list[IO[Any]]) -> Table:
    fmt = file_format(path)
    check_file(path)
    if fmt == "json":  # a JSON array of objects, streamed by the classifier's reader
        from classifier.readers.json_reader import JsonSource

        return Table(fmt, "utf-8", None, (obj for _, obj in JsonSource(path, ReadOptions())._records()))
    if fmt == "jsonl":
        raw = open(path, "rb")
        fh_holder.append(raw)
        return Table(fmt, "utf-8", None, (obj for _, obj in iter_jsonl(raw, str(path))))
    with open(path, "rb") as raw:
        head = raw.read(1 << 20)
    encoding = "utf-8-sig" if head.startswith(b"\xef\xbb\xbf") else detect_encoding(path, head)
    fh = open(path, encoding=encoding, newline="")
    fh_holder.append(fh)
    allow_field_size(MAX_CELL + 1)  # one more, so that a larger cell is caught below, by line
    reader = csv.reader(fh, delimiter="\t" if fmt == "tsv" else ",")

    def checked() -> Iterator[list[str]]:
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as err:
                too_big = "field larger" in str(err)
                raise InputError(f"{path}:{reader.line_num}", f"a cell exceeds the {MAX_CELL:,}-character "
                                 "limit" if too_big else f"malformed CSV ({err})") from None
            except UnicodeDecodeError:
                raise InputError(f"{path}:{reader.line_num + 1}",
                                 f"bytes that are not valid {encoding} (wrong or mixed encoding)") from None
            if any(len(cell) > MAX_CELL for cell in row):
                raise InputError(f"{path}:{reader.line_num}", f"a cell exceeds the {MAX_CELL:,}-character limit")
            yield row

    lines = checked()
    header = next(lines, None)
    if header is None:
        raise InputError(str(path), "empty file: no header row")

    def rows() -> Iterator[dict[str, Any]]:
        for row in lines:
            if not row:
                continue
            if len(row) != len(header):
                raise InputError(f"{path}:{reader.line_num}",
                                 f"{len(row)} columns where the header has {len(header)}")
            yield dict(zip(header, row))
    return Table(fmt, encoding, header, rows())


class TableWriter:
    def __init__(self, fh: IO[str], table: Table) -> None:
        self._fh = fh
        self._table = table
        self._first = True
        if table.header is not None:
            self._csv = csv.writer(fh, delimiter="\t" if table.fmt == "tsv" else ",", lineterminator="\n")
            self._csv.writerow(table.header)

    def write(self, records: list[dict[str, Any]]) -> None:
        if self._table.fmt == "json":
            for r in records:
                self._fh.write(("[\n" if self._first else ",\n") + json.dumps(r, ensure_ascii=False))
                self._first = False
            return
        if self._table.header is None:
            self._fh.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
            return
        header = self._table.header
        self._csv.writerows([["" if r.get(h) is None else r.get(h) for h in header] for r in records])

    def close(self) -> None:
        """Ends a JSON array (an empty input gives ``[]``)."""
        if self._table.fmt == "json":
            self._fh.write("[]\n" if self._first else "\n]\n")
