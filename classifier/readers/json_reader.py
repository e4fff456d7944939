"""JSON Lines and JSON arrays of objects, streamed record by record.

Arrays are decoded incrementally with ``json.JSONDecoder.raw_decode`` over a sliding buffer (the
stdlib has no streaming parser and ijson is not a dependency), so a large array never sits in memory.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import pyarrow as pa

from classifier import jsonl
from classifier.errors import InputError
from classifier.readers.base import FileSource, check_file

_CHUNK = 1 << 20


def _cell(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class JsonSource(FileSource):
    def _records(self) -> Iterator[tuple[int, dict[str, Any]]]:
        with open(self.path, "rb") as raw:
            head = raw.read(4096)
            start = 3 if head.startswith(b"\xef\xbb\xbf") else 0
            first = head[start:].lstrip()[:1]
            if not first:
                raise InputError(str(self.path), "empty file (no records)")
            raw.seek(start)
            if first == b"[":
                with io.TextIOWrapper(raw, encoding="utf-8", errors="strict") as fh:
                    yield from self._array(fh)
            else:
                yield from self._lines(raw)

    def _lines(self, fh: Any) -> Iterator[tuple[int, dict[str, Any]]]:
        for number, obj in jsonl.read(fh, max_line_bytes=self.options.max_cell_bytes * 4):
            if isinstance(obj, jsonl.JsonlError):
                raise InputError(f"{self.path}:{number}", obj.reason)
            yield number, obj

    def _array(self, fh: Any) -> Iterator[tuple[int, dict[str, Any]]]:
        decoder = json.JSONDecoder(parse_int=jsonl.exact_int, parse_constant=jsonl.no_constant)
        buf = fh.read(_CHUNK).lstrip("\ufeff").lstrip()[1:]  # after '['
        line, pos, index, eof = 1, 0, 0, False
        while True:
            while True:  # skip separators, refilling as needed
                while pos < len(buf) and buf[pos] in " \t\r\n,":
                    line += buf[pos] == "\n"
                    pos += 1
                if pos < len(buf) or eof:
                    break
                buf, pos = fh.read(_CHUNK), 0
                eof = not buf
            if pos >= len(buf):
                raise InputError(f"{self.path}:{line}", "unterminated JSON array")
            if buf[pos] == "]":
                return
            try:
                obj, end = decoder.raw_decode(buf, pos)
                if jsonl.depth(obj) > jsonl.MAX_DEPTH:
                    raise jsonl.JsonlError(f"nested deeper than {jsonl.MAX_DEPTH} levels")
            except (jsonl.JsonlError, RecursionError) as exc:
                reason = exc.reason if isinstance(exc, jsonl.JsonlError) else \
                    f"nested deeper than {jsonl.MAX_DEPTH} levels"
                raise InputError(f"{self.path}:{line}", f"array element {index}: {reason}") from None
            except json.JSONDecodeError as exc:
                if eof or len(buf) - pos > self.options.max_cell_bytes * 4:
                    raise InputError(f"{self.path}:{line + buf.count(chr(10), pos, exc.pos)}",
                                     f"not valid JSON ({exc.msg})") from None
                more = fh.read(_CHUNK)
                eof = not more
                buf, pos = buf[pos:] + more, 0
                continue
            if not isinstance(obj, dict):
                raise InputError(f"{self.path}:{line}", f"array element {index} is not an object")
            yield line, obj
            line += buf.count("\n", pos, end)
            index += 1
            pos = end

    def open(self) -> tuple[list[str], Iterator[pa.RecordBatch], bool]:
        check_file(self.path)
        records = self._records()
        try:
            first = next(records)
        except StopIteration:
            raise InputError(str(self.path), "no records") from None
        except UnicodeDecodeError:
            raise InputError(str(self.path), "not valid UTF-8 (JSON must be UTF-8)") from None
        names = list(first[1])
        return names, self._batches(first, records, names), True

    def _batches(self, first: tuple[int, dict[str, Any]], rest: Iterator[tuple[int, dict[str, Any]]],
                 names: list[str]) -> Iterator[pa.RecordBatch]:
        """Batches of every key seen so far; later keys extend ``names`` in place (first-seen order)."""
        chunk: list[dict[str, Any]] = [first[1]]
        try:
            for _, obj in rest:
                chunk.append(obj)
                if len(chunk) >= self.options.batch_rows:
                    yield self._batch(chunk, names)
                    chunk = []
        except UnicodeDecodeError:
            raise InputError(str(self.path), "not valid UTF-8 (JSON must be UTF-8)") from None
        if chunk:
            yield self._batch(chunk, names)

    def _batch(self, chunk: list[dict[str, Any]], names: list[str]) -> pa.RecordBatch:
        for obj in chunk:
            for key in obj:
                if key not in names:
                    names.append(key)
        limit = self.options.max_cell_bytes
        cols = []
        for n in names:
            values = [_cell(o.get(n)) for o in chunk]
            if any(v is not None and len(v) > limit for v in values):
                raise InputError(str(self.path), f"field '{n}': a value exceeds the {limit:,}-byte limit")
            cols.append(pa.array(values, type=pa.string()))
        return pa.RecordBatch.from_arrays(cols, names=list(names))
