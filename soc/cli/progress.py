"""Progress bars on stderr, only when stderr is a terminal: piped or logged output stays clean."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn

from classifier import progress


@contextmanager
def progress_bars() -> Iterator[None]:
    """While open, library progress (:mod:`classifier.progress`) shows as one line per task."""
    if not sys.stderr.isatty():
        yield
        return
    # redirect_stdout=False: records written to a piped stdout must never pass through the bar.
    bars = Progress(SpinnerColumn(), TextColumn("{task.description}"),
                    TextColumn("{task.completed:,} done"), TimeElapsedColumn(),
                    console=Console(file=sys.stderr), transient=True, redirect_stdout=False)
    tasks: dict[str, TaskID] = {}

    def report(task: str, done: int) -> None:
        if not tasks:
            bars.start()
        if task not in tasks:
            tasks[task] = bars.add_task(task, total=None)
        bars.advance(tasks[task], done)

    progress.set_reporter(report)
    try:
        yield
    finally:
        progress.set_reporter(None)
        if tasks:
            bars.stop()
