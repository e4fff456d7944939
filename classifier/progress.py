"""Progress of long work (scans, static masking, ingest, hunts, bulk writes), reported to a
display the caller installs — the CLI shows bars on a terminal's stderr; the library and the
service install none, and then :func:`advance` costs one global lookup."""

from __future__ import annotations

from collections.abc import Callable

Reporter = Callable[[str, int], None]
_reporter: Reporter | None = None


def set_reporter(reporter: Reporter | None) -> None:
    """Route :func:`advance` calls to ``reporter`` (``None``: nowhere)."""
    global _reporter
    _reporter = reporter


def advance(task: str, done: int) -> None:
    """``done`` more units (rows, records, events) of ``task`` are finished."""
    if _reporter is not None and done:
        _reporter(task, done)
