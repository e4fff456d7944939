"""Signed checkpoints of the SQLite store (table ``chain_signed`` in soc.db), and its verification.

The store calls :meth:`SqliteCheckpointLog.added` inside its append transaction (a counter and a
clock read per batch; a signature every ``soc.checkpoint_events`` events or
``soc.checkpoint_minutes``), :meth:`purged` inside its purge transaction, and
:meth:`committed` after COMMIT, which anchors. A timer signs an idle writer's tail, and
:meth:`close` signs whatever is left.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

from soc import chain
from soc.integrity import anchors as anchor_files
from soc.integrity import verify as judge
from soc.integrity.checkpoints import ChainSigner, Checkpoint, CheckpointKey, CheckpointPolicy, PurgeRun, parse

log = logging.getLogger(__name__)
CHAIN = "soc.db"
SCHEMA = """
CREATE TABLE IF NOT EXISTS chain_signed (
    n INTEGER PRIMARY KEY,
    seq INTEGER NOT NULL,
    body TEXT NOT NULL,
    signature TEXT NOT NULL,
    anchored INTEGER NOT NULL DEFAULT 0
);
"""


def load(conn: sqlite3.Connection) -> tuple[list[Checkpoint], set[tuple[str, int]], list[chain.Problem]]:
    """Stored checkpoints, those recorded as anchored, and a problem per row that is not one."""
    cps, anchored, problems = [], set(), []
    for n, body, sig, flag in conn.execute("SELECT n, body, signature, anchored FROM chain_signed ORDER BY n"):
        try:
            cp = parse(body, sig)
        except ValueError as exc:
            problems.append(chain.Problem("forged-checkpoint", None, None, f"chain_signed row {n}: {exc}"))
            continue
        cps.append(cp)
        if flag:
            anchored.add((cp.chain, cp.n))
    return cps, anchored, problems


class SqliteCheckpointLog:
    def __init__(self, conn: sqlite3.Connection, key: CheckpointKey, policy: CheckpointPolicy,
                 anchors: Path | None) -> None:
        conn.executescript(SCHEMA)
        self.key, self.policy, self.anchors = key, policy, anchors
        self.signer = ChainSigner(key, CHAIN, policy)
        row = conn.execute("SELECT body, signature FROM chain_signed ORDER BY n DESC LIMIT 1").fetchone()
        self.signer.last = parse(*row) if row else None
        # Only this writer's own appends count as unsigned: a reader (verify) never signs a tail
        # it did not write.

    # -- writing (inside the store's transaction) --------------------------------------------
    def _insert(self, conn: sqlite3.Connection, seq: int, head: str, reason: str,
                purges: tuple[PurgeRun, ...] = ()) -> Checkpoint:
        row = conn.execute("SELECT body, signature FROM chain_signed ORDER BY n DESC LIMIT 1").fetchone()
        self.signer.last = parse(*row) if row else None  # another process may have signed since
        cp = self.signer.sign(seq, head, reason, purges)
        conn.execute("INSERT INTO chain_signed (n, seq, body, signature) VALUES (?, ?, ?, ?)",
                     (cp.n, cp.seq, cp.body, cp.signature))
        return cp

    def added(self, conn: sqlite3.Connection, count: int, seq: int, head: str) -> Checkpoint | None:
        """``count`` events were appended up to ``seq``/``head``; signs when due."""
        if not self.signer.added(count):
            return None
        return self._insert(conn, seq, head, "events" if self.signer.unsigned >= self.policy.events else "time")

    def purged(self, conn: sqlite3.Connection, runs: list[PurgeRun]) -> Checkpoint:
        head = conn.execute("SELECT last_seq, head_hash FROM chain_head").fetchone()
        seq, head_hash = head if head else (0, chain.GENESIS)
        return self._insert(conn, seq, head_hash, "purge", tuple(runs))

    def pending(self, conn: sqlite3.Connection, reason: str) -> Checkpoint | None:
        """A checkpoint over the unsigned tail (idle timer, close), or None when nothing is unsigned."""
        if not self.signer.unsigned:
            return None
        head = conn.execute("SELECT last_seq, head_hash FROM chain_head").fetchone()
        if head is None or (self.signer.last and self.signer.last.seq >= head[0]):
            return None
        return self._insert(conn, head[0], head[1], reason)

    # -- after COMMIT ------------------------------------------------------------------------
    def committed(self, conn: sqlite3.Connection, cp: Checkpoint) -> None:
        """``cp`` is durable: anchor it (and any earlier one the anchors missed)."""
        self.signer.signed(cp)
        if self.anchors is None:
            return
        todo = [parse(b, s) for b, s in conn.execute(
            "SELECT body, signature FROM chain_signed WHERE anchored = 0 ORDER BY n")]
        try:
            anchor_files.append(self.anchors, todo)
        except OSError as exc:
            log.error("cannot anchor %d checkpoint(s) in %s: %s; retried at the next checkpoint",
                      len(todo), self.anchors, exc.strerror)
            return
        conn.executemany("UPDATE chain_signed SET anchored = 1 WHERE n = ?", [(c.n,) for c in todo])


def verify(conn: sqlite3.Connection, key: CheckpointKey | None, anchors: Path | None,
           policy: CheckpointPolicy, rows: Callable[[], Iterator[chain.ChainRow]],
           head: tuple[int, str] | None, unkeyed: list[tuple[str, int, str]]) -> chain.VerifyReport:
    """The chain walk with only signed purges, judged by the signed checkpoints and the anchors."""
    purges = [chain.Purge(*r) for r in conn.execute(
        "SELECT first_seq, last_seq, count, last_hash FROM chain_purges")]
    has_table = conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'chain_signed'").fetchone()
    if key is None:
        report = chain.verify(rows(), purges, head, unkeyed)
        report.warnings.append(judge.NO_KEY)
        return report
    cps, anchored, bad_rows = load(conn) if has_table else ([], set(), [])
    good, problems = judge.check_signatures(CHAIN, cps, key)
    signed_purges, forged = judge.split_purges(purges, good)
    report = chain.verify(rows(), signed_purges, head, unkeyed, want=[cp.seq for cp in good])
    report.problems[:0] = bad_rows + problems + forged
    judge.check_coverage(report, good, signed_purges, policy.describe())
    if anchors is None:
        report.warnings.append(anchor_files.NO_ANCHORS)
    else:
        found = anchor_files.read(anchors, key, report)
        anchor_files.compare(report, found, {CHAIN: good}, anchored, belongs=CHAIN)
    return report
