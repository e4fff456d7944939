"""Durable ingest of a file with detection in a second process: two cores instead of one.

One process runs the durable path (decode, validate, enrich, store with the SM3 chain); a
second one runs detection (Sigma, correlation, anomaly, share watch, alerts, playbooks, the
detection checkpoint) on each stored batch while the next one is being stored. Python runs one
thread at a time per process, and neither half dominates (measured per event on the 100k day:
store ≈ 29 µs, validation + decode ≈ 14, Sigma ≈ 15, anomaly ≈ 7), so only a process doubles
the CPU the ingest can use.

The detector is given the stored JSON text of each event (what a restart reads back from the
store, so the results are the same as in-line detection), its line and its ``ts`` epoch. The
rules of in-line ingest hold: an event is detected only once it is durable; the detection
checkpoint names the last event detected, so a crash or Ctrl-C of either process leaves stored
but undetected events that the next ingest detects (soc/detection_state.py); alerts are written
by the detector only. Before the first event is stored the detector has caught up with the
store (its start-up recovery reads the store to its end), so no event is detected twice.
"""

from __future__ import annotations

import gc
import os
import socket
import subprocess
import sys
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from classifier import jsonl
from classifier.gcpause import gc_paused
from classifier.settings import Settings
from soc import logsetup
from soc.ingest import IngestPipeline, IngestResult


def wanted(settings: Settings) -> bool:
    """Worth it: the SQLite store (the detector reads the seq of what it stores) and a second core."""
    from soc.config import soc_config

    cores = getattr(os, "process_cpu_count", os.cpu_count)() or 1
    return soc_config(settings).store == "sqlite" and cores >= 2

_ROOT = str(Path(__file__).resolve().parents[1])


class DetectionStopped(RuntimeError):
    """The detection process failed or went away; the stored events stay stored."""


def ingest_file(settings: Settings, path: Path) -> IngestResult:
    """:meth:`IngestPipeline.ingest_file` over two processes; same result, same stored events."""
    # A fresh interpreter (not fork: this process may hold threads; not multiprocessing's spawn,
    # which re-imports the caller's main module) talking pickles over a socket pair.
    ours, theirs = socket.socketpair()
    env = dict(os.environ)  # this very code: the directory holding this process's soc package
    env["PYTHONPATH"] = os.pathsep.join(filter(None, (_ROOT, env.get("PYTHONPATH"))))
    proc = subprocess.Popen([sys.executable, "-m", "soc.ingest_split", str(theirs.fileno())],
                            pass_fds=[theirs.fileno()], env=env)
    theirs.close()
    conn = Connection(ours.detach())
    pipe: IngestPipeline | None = None
    try:
        conn.send((settings, logsetup.current()))
        pipe = IngestPipeline.from_settings(settings, detection=False, playbooks=False)
        gc.freeze()  # see soc_cmd.ingest: start-up objects out of every collection
        _expect(conn, proc, "ready")

        def forward(items: list[tuple[bytes, float, int | None]], last: int, latest: float) -> None:
            try:
                conn.send((last, latest, items))
            except OSError:
                raise _stopped(proc) from None

        pipe.forward = forward
        result = pipe.ingest_file(path)
        conn.send(None)
        result.alerts = _expect(conn, proc, "done")
        return result
    finally:
        if pipe is not None:
            pipe.close()
        conn.close()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _expect(conn: Connection, proc: subprocess.Popen[bytes], what: str) -> Any:
    try:
        msg = conn.recv()
    except (EOFError, OSError):
        raise _stopped(proc) from None
    if msg[0] == "error":
        raise DetectionStopped(msg[1])
    assert msg[0] == what, msg[0]
    return msg[1]


def _stopped(proc: subprocess.Popen[bytes]) -> DetectionStopped:
    try:
        code: int | None = proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        code = None
    return DetectionStopped(f"the detection process stopped (exit code {code}); the events "
                            "stored so far are detected by the next ingest")


def _detector(conn: Connection) -> None:
    """The second process: detection of each batch the durable side stored."""
    from classifier.settings import ConfigError
    from soc.playbooks import PlaybookError

    try:
        settings, log_setup = conn.recv()
    except (EOFError, KeyboardInterrupt):
        return
    logsetup.configure(*log_setup)
    try:
        pipe = IngestPipeline.from_settings(settings, detection=True, playbooks=True)
    except (ConfigError, PlaybookError) as exc:
        conn.send(("error", str(exc)))
        return
    gc.freeze()
    result = IngestResult()
    alerts: dict[str, dict[str, Any]] = {}
    try:
        with pipe._lock, gc_paused():
            pipe._resume(alerts)  # before the other side stores anything new
            conn.send(("ready", None))
            while (msg := conn.recv()) is not None:
                last, latest, items = msg
                batch = [(jsonl.loads(doc), ts, line) for doc, ts, line in items]
                pipe._detect([True] * len(batch), batch, result, alerts)
                pipe.batch_done(latest, lambda: last)
        if pipe.playbooks is not None:
            pipe.playbooks.wait()
        # Re-read: playbooks may have changed the alerts after detection returned them.
        conn.send(("done", [pipe.alerts.store.get(i) or a for i, a in alerts.items()]))
    except (KeyboardInterrupt, EOFError, BrokenPipeError):
        pass  # interrupted, or the durable side went away: the checkpoint says what was detected
    finally:
        pipe.close()


if __name__ == "__main__":  # python -m soc.ingest_split FD: the detection side
    _detector(Connection(int(sys.argv[1])))
