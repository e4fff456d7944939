"""What every reader gives the scanner: column names and a stream of Arrow record batches.

Readers stream (bounded memory): they never hold more than one batch of rows. Problems are raised
as :class:`InputError` naming the file and line (or table) — never echoing a cell's content.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa

from classifier.errors import InputError

BATCH_ROWS = 65_536


@dataclass(frozen=True)
class ReadOptions:
    max_cell_bytes: int = 1 << 20   # a larger cell is bad input, not data
    batch_rows: int = BATCH_ROWS
    header: str = "auto"            # CSV: auto | yes | no


class Source(Protocol):
    dataset: str        # file name without extension, or the table name
    source: str         # what the user gave (password hidden for URLs)

    def fingerprint(self) -> dict[str, Any]: ...

    def open(self) -> tuple[list[str], Iterator[pa.RecordBatch], bool]:
        """Column names, the batch stream, and whether the names are real headers."""
        ...


def unique_names(raw: list[Any]) -> list[str]:
    """Blank or repeated header cells get positional names so every column is addressable."""
    out: list[str] = []
    for i, name in enumerate(raw, start=1):
        text = "" if name is None else str(name).strip()
        if not text or text in out:
            text = f"column_{i}"
        out.append(text)
    return out


def file_fingerprint(path: Path) -> dict[str, Any]:
    """Size, mtime and SHA-256 of the content: an unchanged file is skipped on re-scan."""
    st = path.stat()
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 22):
            digest.update(chunk)
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": digest.hexdigest()}


def check_file(path: Path) -> None:
    if not path.exists():
        raise InputError(str(path), "no such file")
    if not path.is_file():
        raise InputError(str(path), "not a regular file")
    if not os.access(path, os.R_OK):
        raise InputError(str(path), "permission denied (file is not readable)")
    if path.stat().st_size == 0:
        raise InputError(str(path), "empty file (no header, no rows)")


class FileSource:
    """What every file reader shares: the dataset is the file name without extension, and an
    unchanged file (size, mtime, content hash) is skipped on re-scan."""

    def __init__(self, path: Path, options: ReadOptions) -> None:
        self.path = path
        self.options = options
        self.dataset = path.stem
        self.source = str(path)

    def fingerprint(self) -> dict[str, Any]:
        check_file(self.path)
        return file_fingerprint(self.path)


def batch_from_columns(names: list[str], columns: list[list[Any]]) -> pa.RecordBatch:
    return pa.RecordBatch.from_arrays([pa.array(c, type=pa.string()) for c in columns], names=names)
