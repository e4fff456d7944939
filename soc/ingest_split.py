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
checkpoint (every few batches: BatchDetector) names the last event detected, so a crash or
Ctrl-C of either process leaves stored but undetected events that the next ingest detects (soc/detection_state.py); alerts are written
by the detector only. The detector's start-up recovery (what earlier runs left undetected)
stops at the store's end when this ingest began; every later event reaches it through the
socket, so none is detected twice, and the durable side need not wait for that start-up.
"""

from __future__ import annotations

import gc
import os
import queue
import socket
import subprocess
import sys
import threading
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from classifier import jsonl
from classifier.gcpause import gc_paused
from classifier.settings import Settings
from soc import logsetup
from soc.ingest import IngestPipeline, IngestResult
from soc.playbooks import load_playbooks

_ROOT = str(Path(__file__).resolve().parents[1])
_AHEAD = 1  # stored batches queued for the detector besides the one being sent (≈ 10 MB each)
_CHECKPOINT_EVERY = 4  # batches (≈ 80,000 events, 3 s) between the detector's checkpoints


def wanted(settings: Settings) -> bool:
    """Worth it: the SQLite store (its append hands over the stored text and seq) and a second core."""
    from soc.config import soc_config

    cores = getattr(os, "process_cpu_count", os.cpu_count)() or 1
    return soc_config(settings).store == "sqlite" and cores >= 2


class DetectionStopped(RuntimeError):
    """The detection process failed or went away; the stored events stay stored."""


def ingest_file(settings: Settings, path: Path) -> IngestResult:
    """:meth:`IngestPipeline.ingest_file` over two processes; same result, same stored events."""
    # A fresh interpreter (not fork: this process may hold threads; not multiprocessing's spawn,
    # which re-imports the caller's main module) talking pickles over a socket pair.
    ours, theirs = socket.socketpair()
    env = dict(os.environ)  # this very code: the directory holding this process's soc package
    env["PYTHONPATH"] = os.pathsep.join(filter(None, (_ROOT, env.get("PYTHONPATH"))))
    try:
        proc = subprocess.Popen([sys.executable, "-m", "soc.ingest_split", str(theirs.fileno())],
                                pass_fds=[theirs.fileno()], env=env)
    except OSError as exc:
        ours.close()
        raise DetectionStopped(f"cannot start the detection process: {exc.strerror or exc}") from None
    finally:
        theirs.close()
    conn = Connection(ours.detach())
    pipe: IngestPipeline | None = None
    outbox: queue.Queue[Any] = queue.Queue(maxsize=_AHEAD)
    failed: list[BaseException] = []

    def sender() -> None:  # pickles and writes while the ingest goes on (the write frees the GIL)
        while True:
            msg = outbox.get()
            if not failed:  # after a failure the queue is drained, never written
                try:
                    conn.send(msg)  # the closing None too: everything before it was delivered
                except OSError as exc:
                    failed.append(exc)
            if msg is None:
                return

    thread = threading.Thread(target=sender, name="ingest-detect-send", daemon=True)
    try:
        load_playbooks(settings.playbook_dir)  # a bad playbook fails here, before any event is stored
        pipe = IngestPipeline.from_settings(settings, detection=False, playbooks=False)
        # Detection resumes up to the store's end before this ingest; the rest it is sent.
        conn.send((settings, logsetup.current(), pipe.store.last_seq()))
        gc.freeze()  # see soc_cmd.ingest: start-up objects out of every collection
        thread.start()

        def forward(items: list[tuple[bytes, float, int | None]], last: int, latest: float) -> None:
            if failed:
                raise _stopped(conn, proc)
            outbox.put((last, latest, items))

        pipe.forward = forward
        result = pipe.ingest_file(path)
        outbox.put(None)
        thread.join()
        if failed:
            raise _stopped(conn, proc)
        result.alerts = _expect(conn, proc, "done")
        return result
    finally:
        if thread.is_alive():  # an error on this side: let the sender finish, the detector stop
            failed.append(RuntimeError("stopped"))
            outbox.put(None)
            thread.join(timeout=60)
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
        raise _stopped(conn, proc) from None
    if msg[0] == "error":
        raise DetectionStopped(msg[1])
    assert msg[0] == what, msg[0]
    return msg[1]


def _stopped(conn: Connection, proc: subprocess.Popen[bytes]) -> DetectionStopped:
    why = None
    try:  # the detector's last word, if it said why
        if conn.poll(0):
            msg = conn.recv()
            why = msg[1] if msg[0] == "error" else None
    except (EOFError, OSError):
        pass
    try:
        code: int | None = proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        code = None
    return DetectionStopped(f"{why or f'the detection process stopped (exit code {code})'}; the "
                            "events stored so far are detected by the next ingest")


class BatchDetector:
    """The detector's loop over the stored batches it is sent (each the documents with their
    ``ts`` epoch and line, the batch's last arrival and newest time), then :meth:`finish`.

    The checkpoint (detection cursor, anomaly baselines, correlation matches: one transaction)
    is written every ``_CHECKPOINT_EVERY`` batches and after the last, not after each: a batch
    of the 1M day dirties ≈ 8,500 users' baselines, nearly all of them again the next batch, so
    each checkpoint rewrote most of the baselines table (≈ 4 µs per event). A crash or kill
    between checkpoints leaves up to that many stored batches undetected, which the next ingest
    detects (alerts already written are not counted twice: ``once`` in soc/ingest.py)."""

    def __init__(self, pipe: IngestPipeline, result: IngestResult,
                 alerts: dict[str, dict[str, Any]]) -> None:
        self.pipe, self.result, self.alerts = pipe, result, alerts
        self._pending = 0  # batches detected since the last checkpoint
        self._last = 0
        self._latest: float | None = None

    def batch(self, items: list[tuple[bytes, float, int | None]], last: int, latest: float) -> None:
        batch = [(jsonl.loads_dumped(doc), ts, line) for doc, ts, line in items]
        self.pipe._detect(None, batch, self.result, self.alerts)
        # Released before batch_done's collection of the young generations, which otherwise walks
        # every event of the batch (measured on the 100k day: 5.1 → 0.4 µs per event).
        del batch
        self._pending += 1
        self._last = last
        self._latest = latest if self._latest is None else max(self._latest, latest)
        if self._pending < _CHECKPOINT_EVERY:
            self.pipe.batch_done(latest, None)  # the collection only
            return
        self.pipe.batch_done(self._latest, lambda: last)
        self._pending, self._latest = 0, None

    def finish(self) -> None:
        """The checkpoint of the batches detected since the last one."""
        if self._pending and self.pipe.state is not None:
            self.pipe.state.checkpoint(self._last, self._latest)
        self._pending, self._latest = 0, None


def _detector(conn: Connection) -> None:
    """The second process: detection of each batch the durable side stored."""
    from classifier.settings import ConfigError
    from soc.playbooks import PlaybookError

    try:
        settings, log_setup, upto = conn.recv()
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
            pipe._resume(alerts, upto)  # what the other side stores from now on comes below
            detect = BatchDetector(pipe, result, alerts)
            while (msg := conn.recv()) is not None:
                last, latest, items = msg
                detect.batch(items, last, latest)
            detect.finish()
        if pipe.playbooks is not None:
            pipe.playbooks.wait()
        # Re-read: playbooks may have changed the alerts after detection returned them.
        conn.send(("done", [pipe.alerts.store.get(i) or a for i, a in alerts.items()]))
    except (KeyboardInterrupt, EOFError, BrokenPipeError):
        pass  # interrupted, or the durable side went away: the checkpoint says what was detected
    finally:
        pipe.close()


def _main(fd: int) -> int:
    """The child's entry: bad news reaches the other side as one line, never a traceback."""
    conn = Connection(fd)
    try:
        _detector(conn)
    except KeyboardInterrupt:  # Ctrl-C reaches both processes: the durable side reports it
        return 1
    except Exception as exc:  # noqa: BLE001 - reported by the durable side in one line
        try:
            conn.send(("error", f"detection failed: {type(exc).__name__}: {exc}"))
        except OSError:
            pass
        return 1
    return 0


if __name__ == "__main__":  # python -m soc.ingest_split FD: the detection side
    sys.exit(_main(int(sys.argv[1])))
