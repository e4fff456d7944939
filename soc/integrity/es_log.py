"""Signed checkpoints of the Elasticsearch store: one SM3 chain per daily index and writer.

Each writer (one ``EsEventStore``) links the documents it sends to a daily index:
``h_k = SM3(h_(k-1) || source)``; the document carries ``ingest_chain: {w, k, h}`` (not indexed)
and the writer signs a checkpoint per chain every N documents / M minutes and at close, kept in
``<prefix>-checkpoints`` (and the anchors). Documents Elasticsearch never stored (duplicates,
refused ones) are listed in the next checkpoint as ``skipped``. Retention signs a record on the
``<prefix>-events-*:retention`` chain before it deletes a day index or part of one.

Per writer rather than one chain per index: several ingest processes write the same index at
once, and none of them can know the others' order without a round trip per batch.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from elasticsearch import ApiError, Elasticsearch, TransportError, helpers

from classifier import jsonl
from soc import chain
from soc.integrity import anchors as anchor_files
from soc.integrity import verify as judge
from soc.integrity.checkpoints import ChainSigner, Checkpoint, PurgeRun, Signing, parse
from soc.store.es.mapping import CHAIN_FIELD

log = logging.getLogger(__name__)
Ref = tuple[str, int, str]  # index, position, chain hash


def chain_name(index: str, writer: str) -> str:
    return f"es:{index}:{writer}"


def retention_chain(prefix: str) -> str:
    return f"es:{prefix}-events-*:retention"


def checkpoint_index(prefix: str) -> str:
    return f"{prefix}-checkpoints"


@dataclass
class _IndexChain:
    signer: ChainSigner
    k: int = 0
    prev: str = chain.GENESIS
    skipped: list[list[Any]] = field(default_factory=list)

    def skip(self, k: int, h: str) -> None:
        last = self.skipped[-1] if self.skipped else None
        if last is not None and last[1] == k - 1:
            last[1], last[2], last[3] = k, last[2] + 1, h
        else:
            self.skipped.append([k, k, 1, h])


class EsCheckpointLog:
    """The writer side: link documents, settle what was stored, sign, write checkpoints."""

    def __init__(self, client: Elasticsearch, prefix: str, signing: Signing, replicas: int,
                 usable: Callable[[], bool]) -> None:
        assert signing.key is not None
        self.client, self.prefix, self.signing, self.replicas = client, prefix, signing, replicas
        self.usable = usable  # the store's circuit breaker: no checkpoint writes during an outage
        self.writer = uuid.uuid4().hex[:12]
        self.chains: dict[str, _IndexChain] = {}
        self.unsent: list[tuple[Checkpoint, bool]] = []  # not yet indexed, with "anchored"
        self._index_ok = False

    def link(self, index: str, base: bytes) -> tuple[bytes, Ref]:
        """The document source with its chain position (``base`` is compact JSON of an object)."""
        c = self.chains.get(index)
        if c is None:
            c = self.chains[index] = _IndexChain(ChainSigner(self.signing.key,  # type: ignore[arg-type]
                                                             chain_name(index, self.writer), self.signing.policy))
        c.k += 1
        c.prev = chain.link_utf8(c.prev, base)
        tail = b',"%s":{"w":"%s","k":%d,"h":"%s"}}' % (CHAIN_FIELD.encode(), self.writer.encode(), c.k,
                                                       c.prev.encode())
        return base[:-1] + tail, (index, c.k, c.prev)

    def settle(self, refs: list[Ref], in_es: list[bool]) -> None:
        """``refs`` were sent; ``in_es`` says which are (or, spooled, will be) in Elasticsearch."""
        counts: Counter[str] = Counter()
        for (index, k, h), ok in zip(refs, in_es):
            counts[index] += 1
            if not ok:
                self.chains[index].skip(k, h)
        due = [c for index, n in counts.items() if (c := self.chains[index]).signer.added(n)]
        self._sign(due, "events")

    def checkpoint(self, reason: str) -> None:
        """Sign every chain with unsigned documents (``time``: only those due)."""
        self._sign([c for c in self.chains.values()
                    if c.signer.unsigned and (reason != "time" or c.signer.due())], reason)

    def _sign(self, chains: list[_IndexChain], reason: str) -> None:
        cps = []
        for c in chains:
            cp = c.signer.sign(c.k, c.prev, reason, skipped=tuple(tuple(r) for r in c.skipped))
            c.signer.signed(cp)
            c.skipped = []
            cps.append(cp)
        if cps or self.unsent:
            self.write(cps)

    def _ensure_index(self) -> None:
        if self._index_ok:
            return
        self.client.options(ignore_status=400).indices.create(
            index=checkpoint_index(self.prefix),
            settings={"number_of_shards": 1, "number_of_replicas": self.replicas},
            mappings={"dynamic": False, "properties": {
                "chain": {"type": "keyword"}, "n": {"type": "long"}, "seq": {"type": "long"},
                "body": {"type": "keyword", "index": False, "doc_values": False},
                "sig": {"type": "keyword", "index": False, "doc_values": False},
                "anchored": {"type": "boolean"}}})
        self._index_ok = True

    def write(self, cps: list[Checkpoint], *, must: bool = False) -> None:
        """Anchor ``cps``, then index them (and earlier ones that could not be indexed); kept for
        the next try on failure, or while the store's circuit breaker is open, unless ``must``
        (a purge does not delete what it could not record)."""
        anchored = False
        if self.signing.anchors is not None and cps:
            try:
                anchor_files.append(self.signing.anchors, cps)
                anchored = True
            except OSError as exc:
                log.error("cannot anchor %d checkpoint(s) in %s: %s", len(cps), self.signing.anchors, exc.strerror)
        todo = self.unsent + [(cp, anchored) for cp in cps]
        if not must and not self.usable():
            self.unsent = todo
            return
        ops: list[dict[str, Any]] = []
        for cp, flag in todo:
            ops.append({"create": {"_index": checkpoint_index(self.prefix), "_id": f"{cp.chain}:{cp.n}"}})
            ops.append({"chain": cp.chain, "n": cp.n, "seq": cp.seq, "body": cp.body, "sig": cp.signature,
                        "anchored": flag})
        try:
            self._ensure_index()
            resp = self.client.bulk(operations=ops, refresh=must)
            failed = [t for t, item in zip(todo, resp["items"]) if item["create"]["status"] not in (200, 201, 409)]
        except (ApiError, TransportError) as exc:
            if must:
                raise
            log.warning("checkpoints not written (%s); retried at the next checkpoint", exc.__class__.__name__)
            failed = todo
        if failed and must:
            raise RuntimeError(f"Elasticsearch refused {len(failed)} signed checkpoint(s)")
        self.unsent = failed

    # -- retention ---------------------------------------------------------------------------
    def purge_record(self, index: str, *, whole: bool, runs: list[list[Any]], before: str, events: int) -> None:
        """Sign and store the record of a retention purge before anything is deleted."""
        name = retention_chain(self.prefix)
        signer = ChainSigner(self.signing.key, name, self.signing.policy)  # type: ignore[arg-type]
        existing = load(self.client, self.prefix, chains=[name])
        signer.last = max(existing.get(name, []), key=lambda c: c.n, default=None)
        n = signer.last.n + 1 if signer.last else 1
        cp = signer.sign(n, chain.GENESIS, "purge", extra={"index": index, "whole": whole, "runs": runs,
                                                          "before": before, "events": events})
        self.write([cp], must=True)


def purge_runs(docs: list[dict[str, Any]], index: str) -> list[list[Any]]:
    """Runs of consecutive positions, per chain, of the documents a purge deletes."""
    by_chain: dict[str, list[tuple[int, str]]] = {}
    for src in docs:
        ch = src.get(CHAIN_FIELD)
        if isinstance(ch, dict):
            by_chain.setdefault(chain_name(index, str(ch["w"])), []).append((int(ch["k"]), str(ch["h"])))
    runs: list[list[Any]] = []
    for name, items in sorted(by_chain.items()):
        for k, h in sorted(items):
            if runs and runs[-1][0] == name and runs[-1][2] == k - 1:
                runs[-1][2], runs[-1][3], runs[-1][4] = k, runs[-1][3] + 1, h
            else:
                runs.append([name, k, k, 1, h])
    return runs


def load(client: Elasticsearch, prefix: str, *, chains: list[str] | None = None,
         report: chain.VerifyReport | None = None,
         anchored: set[tuple[str, int]] | None = None) -> dict[str, list[Checkpoint]]:
    """Stored checkpoints by chain (a document that is not one is a problem in ``report``)."""
    query: dict[str, Any] = {"terms": {"chain": chains}} if chains else {"match_all": {}}
    out: dict[str, list[Checkpoint]] = {}
    index = checkpoint_index(prefix)
    if not client.indices.exists(index=index):
        return out
    client.indices.refresh(index=index)
    for hit in helpers.scan(client, index=index, query={"query": query}):
        src = hit["_source"]
        try:
            cp = parse(src["body"], src["sig"])
        except (KeyError, TypeError, ValueError) as exc:
            if report is not None:
                report.problems.append(chain.Problem("forged-checkpoint", None, None,
                                                     f"{index} document {hit['_id']}: {exc}"))
            continue
        out.setdefault(cp.chain, []).append(cp)
        if anchored is not None and src.get("anchored"):
            anchored.add((cp.chain, cp.n))
    return out


def verify(store: Any, anchors: Path | None) -> chain.VerifyReport:
    """Every daily index of ``store`` (an EsEventStore) against its signed checkpoints."""
    report = chain.VerifyReport()
    signing: Signing = store.signing
    if signing.key is None:
        report.checked = store.count()
        report.warnings.append(judge.NO_KEY)
        return report
    store.refresh()
    anchored: set[tuple[str, int]] = set()
    stored = load(store.client, store.prefix, report=report, anchored=anchored)
    good: dict[str, list[Checkpoint]] = {}
    retention = retention_chain(store.prefix)
    for name, cps in stored.items():
        ok, problems = judge.check_signatures(name, cps, signing.key)
        good[name] = ok
        for p in problems:
            if name == retention and p.kind == "forged-checkpoint":
                p.kind, p.detail = "forged-purge", f"retention record: {p.detail}"
        report.problems.extend(problems)
    whole: set[str] = set()
    partial: dict[str, list[chain.Purge]] = {}
    for cp in good.get(retention, []):
        if cp.extra.get("whole"):
            whole.add(str(cp.extra["index"]))
        for name, a, b, count, h in cp.extra.get("runs", []):
            partial.setdefault(name, []).append(chain.Purge(int(a), int(b), int(count), str(h)))
    rows = _rows(store, report)
    for name in sorted(set(rows) | (set(good) - {retention})):
        _check_chain(report, name, rows.get(name, []), good.get(name, []), partial.get(name, []),
                     name.split(":")[1] in whole, signing)
    if anchors is None:
        report.warnings.append(anchor_files.NO_ANCHORS)
    else:
        found = anchor_files.read(anchors, signing.key, report)
        anchor_files.compare(report, found, good, anchored, belongs=f"es:{store.prefix}-events-")
    return report


def _rows(store: Any, report: chain.VerifyReport) -> dict[str, list[chain.ChainRow]]:
    """Stored documents by chain, as chain rows (the source without its chain position)."""
    rows: dict[str, list[chain.ChainRow]] = {}
    positions: dict[str, set[int]] = {}
    for hits in store.search_pages({"match_all": {}}):
        for hit in hits:
            src, index = hit["_source"], hit["_index"]
            report.checked += 1
            ch = src.pop(CHAIN_FIELD, None)
            eid = src.get("event_id")
            try:
                name, k, h = chain_name(index, str(ch["w"])), int(ch["k"]), str(ch["h"])
            except (KeyError, TypeError, ValueError):
                report.problems.append(chain.Problem("inserted", None, eid, f"{index}: event {eid} carries no "
                                                     "chain position: inserted into the index"))
                continue
            seen = positions.setdefault(name, set())
            if k in seen:
                report.problems.append(chain.Problem("inserted", k, eid, f"{index}: event {eid} claims chain "
                                                     f"position {k} of writer {ch['w']} a second time: inserted"))
                continue
            seen.add(k)
            rows.setdefault(name, []).append(chain.ChainRow(k, eid or "", jsonl.dumps(src).decode(), h))
    return rows


def _check_chain(report: chain.VerifyReport, name: str, rows: list[chain.ChainRow], good: list[Checkpoint],
                 purges: list[chain.Purge], whole: bool, signing: Signing) -> None:
    _, index, writer = name.split(":")
    where = f"{index} (writer {writer})"
    if not good:
        first = min(rows, key=lambda r: r.seq)
        report.problems.append(chain.Problem("inserted", first.seq, first.event_id,
                                             f"{where}: {len(rows)} event(s) in no signed chain: inserted, "
                                             "or their signed checkpoints were deleted"))
        return
    if whole and not rows:
        report.purged += good[-1].seq
        return
    if not rows:
        report.problems.append(chain.Problem("deleted", 1, None, f"{where}: all {good[-1].seq} events of "
                                             f"{good[-1].label} are gone and no signed purge record removed them"))
        return
    skipped = [chain.Purge(*r) for cp in good for r in cp.skipped]
    sub = chain.verify(sorted(rows, key=lambda r: r.seq), purges + skipped, None, [],
                       want=[cp.seq for cp in good])
    judge.check_coverage(sub, good, purges + skipped, signing.policy.describe())
    for p in sub.problems:
        p.detail = f"{where}: {p.detail}"
    report.problems.extend(sub.problems)
    report.warnings.extend(f"{where}: {w}" for w in sub.warnings)
    report.purged += sum(p.count for p in purges)
    report.signed += sub.signed
