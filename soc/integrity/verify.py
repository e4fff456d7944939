"""Judging a chain by its signed checkpoints (the part a database writer cannot recompute).

The store walks its SM3 chain (soc/chain.py) with only the purge runs a signed checkpoint
vouches for, asks for the chain hash at every signed seq, then these functions say what is
wrong and where: a checkpoint that does not verify, checkpoints missing, a purge nobody signed,
a signed head the chain no longer has (edited or reordered, then recomputed), a signed seq past
the chain's end (tail deleted and head recomputed).
"""

from __future__ import annotations

from collections.abc import Iterable

from soc.chain import GENESIS, Problem, Purge, VerifyReport
from soc.integrity.checkpoints import Checkpoint, CheckpointKey

NO_KEY = ("no master key: checkpoints are neither signed nor checked, so whoever can write the "
          "store can rewrite it undetected (set SHUWEI_MASTER_KEY)")


def check_signatures(chain: str, checkpoints: Iterable[Checkpoint],
                     key: CheckpointKey) -> tuple[list[Checkpoint], list[Problem]]:
    """The checkpoints that verify, in order, and a problem for each that does not, for each gap
    in their numbering and for each that does not follow its predecessor."""
    good: list[Checkpoint] = []
    problems: list[Problem] = []
    expected, prev = 1, GENESIS
    for cp in sorted(checkpoints, key=lambda c: c.n):
        reason = key.problem(cp)
        if reason is None and cp.chain != chain:
            reason = f"belongs to chain {cp.chain!r}, not {chain!r}"
        if reason is not None:
            problems.append(Problem("forged-checkpoint", cp.seq, None, f"{cp.label}: {reason}"))
            continue
        if cp.n > expected:
            problems.append(Problem("deleted", None, None,
                                    f"signed checkpoint(s) {expected}..{cp.n - 1} of {chain} are missing "
                                    f"before {cp.label}: deleted from the store"))
        elif cp.n == expected and cp.prev != prev:
            problems.append(Problem("forged-checkpoint", cp.seq, None,
                                    f"{cp.label} does not follow checkpoint {cp.n - 1}: the checkpoint "
                                    "log was replaced"))
        good.append(cp)
        expected, prev = cp.n + 1, cp.digest
    return good, problems


def split_purges(purges: Iterable[Purge], good: list[Checkpoint]) -> tuple[list[Purge], list[Problem]]:
    """Purge runs a signed checkpoint lists, and a ``forged-purge`` problem for every other one."""
    signed = {run for cp in good for run in cp.purges}
    ok: list[Purge] = []
    problems: list[Problem] = []
    for p in purges:
        if (p.first_seq, p.last_seq, p.count, p.last_hash) in signed:
            ok.append(p)
        else:
            problems.append(Problem(
                "forged-purge", p.first_seq, None,
                f"purge record for seq {p.first_seq}..{p.last_seq} ({p.count} events) is in no signed "
                "purge checkpoint: the events were deleted and the purge record forged"))
    return ok, problems


def check_coverage(report: VerifyReport, good: list[Checkpoint], purges: list[Purge],
                   policy: str) -> None:
    """Compare each signed head with the chain as it is now; note what no signature covers yet."""
    purged = [(p.first_seq, p.last_seq) for p in purges]
    prev_seq, mismatched = 0, 0
    for cp in good:
        found = report.hashes.get(cp.seq)
        if found is None:
            if cp.seq > report.last_seq:
                report.problems.append(Problem(
                    "deleted", report.last_seq + 1, None,
                    f"events seq {report.last_seq + 1}..{cp.seq} are missing at the end of the chain: "
                    f"{cp.label} covers them (tail deleted, head and checkpoints recomputed)"))
                break
            # inside a signed purge run, or a gap the chain walk already named
        elif found != cp.head:
            mismatched += 1
            if mismatched == 1:
                report.problems.append(Problem(
                    "checkpoint", cp.seq, None,
                    f"{cp.label} does not match the chain: events in seq {prev_seq + 1}..{cp.seq} were "
                    "edited, inserted or reordered and the chain recomputed"))
        prev_seq = cp.seq
    if mismatched > 1:
        report.problems[-1].detail += f" ({mismatched - 1} later signed checkpoint(s) differ as well)"
    report.signed = len(good)
    last = good[-1].seq if good else 0
    if report.last_seq > last and not any(a <= report.last_seq <= b for a, b in purged):
        if good:
            report.warnings.append(
                f"events seq {last + 1}..{report.last_seq} are not yet covered by a signed checkpoint "
                f"({policy}); a writer killed before signing leaves such a tail")
        else:
            report.problems.append(Problem(
                "deleted", None, None,
                f"no signed checkpoint covers the {report.last_seq} events of the chain: the signed "
                "checkpoints were deleted (or the store was written without a master key)"))
