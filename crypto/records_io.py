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

from classifier.errors import InputError
from classifier.readers.csv_reader import detect_encoding

FORMATS = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json"}


def file_format(path: Path) -> str:
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise InputError(str(path), f"unsupported file type '{path.suffix or '(none)'}' for static "
                         "desensitization (csv, tsv, jsonl, ndjson, json)")
    return fmt


def iter_jsonl(stream: IO[str], origin: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object); blank lines are skipped; anything but an object is an error."""
    for number, line in enumerate(stream, 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{origin}:{number}", f"not valid JSON ({exc.msg})") from None
        if not isinstance(obj, dict):
            raise InputError(f"{origin}:{number}", "each line must be a JSON object")
        yield number, obj


@dataclass
class Table:
    """An open input: its rows as dicts, and what the writer needs to reproduce the format."""

    fmt: str
    encoding: str
    header: list[str] | None
    rows: Iterator[dict[str, Any]]


def open_table(path: Path, fh_holder: list[IO[str]]) -> Table:
    fmt = file_format(path)
    if fmt == "json":  # a JSON array of objects, streamed by the classifier's reader
        from classifier.readers.base import ReadOptions
        from classifier.readers.json_reader import JsonSource

        return Table(fmt, "utf-8", None, (obj for _, obj in JsonSource(path, ReadOptions())._records()))
    if fmt == "jsonl":
        fh = open(path, encoding="utf-8")
        fh_holder.append(fh)
        return Table(fmt, "utf-8", None, (obj for _, obj in iter_jsonl(fh, str(path))))
    with open(path, "rb") as raw:
        head = raw.read(1 << 20)
    encoding = "utf-8-sig" if head.startswith(b"\xef\xbb\xbf") else detect_encoding(path, head)
    fh = open(path, encoding=encoding, newline="")
    fh_holder.append(fh)
    reader = csv.reader(fh, delimiter="\t" if fmt == "tsv" else ",")
    try:
        header = next(reader)
    except StopIteration:
        raise InputError(str(path), "empty file: no header row") from None

    def rows() -> Iterator[dict[str, Any]]:
        for row in reader:
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
