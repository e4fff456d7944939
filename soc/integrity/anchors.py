"""Anchors: every signed checkpoint also goes where the database writer cannot rewrite it.

``soc.anchors`` (``SHUWEI_SOC__ANCHORS``) names a directory; checkpoints are appended, one JSON
line each, to ``<dir>/<UTC day>.jsonl`` (opened ``O_APPEND``, fsynced). Make the directory
append-only for the SOC's user (``chattr +a``, a WORM mount, a separate host over NFS/rsync):
then restoring an older soc.db, or deleting the tail and the checkpoints with it, leaves anchored
checkpoints the store no longer reaches, which ``verify --anchors DIR`` names.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import orjson

from soc.chain import Problem, VerifyReport
from soc.integrity.checkpoints import Checkpoint, CheckpointKey, parse

NO_ANCHORS = ("rollback cannot be detected: no anchors (soc.anchors / SHUWEI_SOC__ANCHORS unset), so "
              "an older copy of the store, or one with its tail and checkpoints deleted, still verifies")


def append(directory: Path, checkpoints: Iterable[Checkpoint]) -> None:
    """Append ``checkpoints`` to the day files of ``directory`` (created if missing); raises OSError."""
    by_day: dict[str, list[bytes]] = {}
    for cp in checkpoints:
        by_day.setdefault(cp.at[:10], []).append(cp.as_line() + b"\n")
    directory.mkdir(parents=True, exist_ok=True)
    for day, lines in by_day.items():
        fd = os.open(directory / f"{day}.jsonl", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, b"".join(lines))
            os.fsync(fd)
        finally:
            os.close(fd)


@dataclass(frozen=True, slots=True)
class Anchored:
    checkpoint: Checkpoint
    where: str  # file:line


def read(directory: Path, key: CheckpointKey, report: VerifyReport) -> list[Anchored]:
    """Every anchor line that verifies; a line that is not an anchor or does not verify is a problem."""
    out: list[Anchored] = []
    if not directory.is_dir():
        report.problems.append(Problem("anchor", None, None, f"{directory}: anchor directory not found"))
        return out
    for path in sorted(directory.glob("*.jsonl")):
        with open(path, "rb") as fh:
            for number, line in enumerate(fh, 1):
                where = f"{path.name}:{number}"
                if not line.strip():
                    continue
                try:
                    d = orjson.loads(line)
                    cp = parse(d["body"], d["sig"])
                except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
                    report.problems.append(Problem("anchor", None, None, f"anchor {where}: not an anchor line"))
                    continue
                reason = key.problem(cp)
                if reason is not None:
                    report.problems.append(Problem("anchor", cp.seq, None, f"anchor {where}: {cp.label}: {reason}"))
                    continue
                out.append(Anchored(cp, where))
    return out


def compare(report: VerifyReport, anchors: list[Anchored], chains: dict[str, list[Checkpoint]],
            anchored: set[tuple[str, int]], *, belongs: str) -> None:
    """Check the store's chains against the anchors of chains whose name starts with ``belongs``.

    ``chains``: name → the checkpoints that verify, as the store holds them; ``anchored``: the
    (chain, n) the store recorded as written to the anchors."""
    seen: dict[tuple[str, int], Anchored] = {}
    for a in anchors:
        if a.checkpoint.chain.startswith(belongs):
            seen[(a.checkpoint.chain, a.checkpoint.n)] = a
    by_chain: dict[str, list[Anchored]] = {}
    for (name, _), a in sorted(seen.items()):
        by_chain.setdefault(name, []).append(a)
    for name, items in by_chain.items():
        held = {cp.n: cp for cp in chains.get(name, [])}
        top = max(held, default=0)
        beyond = [a for a in items if a.checkpoint.n > top]
        for a in items:
            cp = held.get(a.checkpoint.n)
            if cp is not None and (cp.body, cp.signature) != (a.checkpoint.body, a.checkpoint.signature):
                report.problems.append(Problem("checkpoint", cp.seq, None,
                                               f"{cp.label} of {name} differs from its anchor {a.where}"))
        if beyond:
            last = beyond[-1]
            ends = (f"its last signed checkpoint is {held[top].n} (seq {held[top].seq})" if top
                    else "it holds no signed checkpoint of it")
            report.problems.append(Problem(
                "rollback", last.checkpoint.seq, None,
                f"the store no longer reaches anchored {last.checkpoint.label} of {name} ({last.where}); "
                f"{ends}: an older copy was restored or the tail deleted"))
    for name, cps in chains.items():
        missing = [cp for cp in cps if (name, cp.n) not in seen]
        lost = [cp for cp in missing if (name, cp.n) in anchored]
        if lost:
            cp = lost[0]
            report.problems.append(Problem(
                "anchor", cp.seq, None,
                f"anchor file {cp.at[:10]}.jsonl lacks {cp.label} of {name}, which was anchored: the anchor "
                f"file was rolled back or truncated ({len(lost)} checkpoint(s) missing)"))
        pending = [cp for cp in missing if (name, cp.n) not in anchored]
        if pending:
            report.warnings.append(f"{len(pending)} signed checkpoint(s) of {name} from {pending[0].n} on are "
                                   "not anchored yet (the anchor directory was not writable); retried at the "
                                   "next checkpoint")
