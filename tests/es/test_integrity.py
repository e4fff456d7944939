"""Audit integrity on the real Elasticsearch: per daily index and writer, signed checkpoints; an
insider with write access to the cluster (and nothing else) is caught, named with what and where."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from classifier import jsonl
from soc.chain import GENESIS, link
from soc.integrity.anchors import NO_ANCHORS
from soc.integrity.checkpoints import parse
from soc.integrity.es_log import checkpoint_index, retention_chain
from soc.store.es import EsConfig, EsEventStore, make_client
from soc.store.es.mapping import CHAIN_FIELD
from tests.es.conftest import EsHandle
from tests.es.events import make_events
from tests.soc.integrity_helpers import DAY_FILE, checkpoint_key, resign_with_own_key, signing

AT = "2026-03-02T02:00:00.000+00:00"


@dataclass
class World:
    store: EsEventStore
    client: Elasticsearch
    index: str
    anchors: Path
    prefix: str
    master: bytes

    def docs(self) -> list[dict[str, Any]]:
        self.client.indices.refresh(index=self.index)
        hits = self.client.search(index=self.index, size=1000, sort=[{"ingest_seq": "asc"}])["hits"]["hits"]
        return hits

    def problems(self, anchors: Path | None = None) -> list[tuple[str, int | None, str]]:
        return [(p.kind, p.seq, p.detail) for p in self.store.verify(anchors).problems]

    @property
    def where(self) -> str:
        return f"{self.index} (writer {self.store._log.writer})"  # type: ignore[union-attr]

    def rewrite(self, hit: dict[str, Any], **changes: Any) -> None:
        self.client.index(index=self.index, id=hit["_id"], document={**hit["_source"], **changes}, refresh=True)

    def recompute(self) -> None:
        """Rebuild the writer's SM3 chain over the documents as they now are."""
        prev = GENESIS
        for hit in sorted(self.docs(), key=lambda h: h["_source"][CHAIN_FIELD]["k"]):
            src = dict(hit["_source"])
            ch = src.pop(CHAIN_FIELD)
            prev = link(prev, jsonl.dumps(src).decode())
            self.rewrite(hit, **{CHAIN_FIELD: {**ch, "h": prev}})


@pytest.fixture()
def world(es_server: EsHandle, es_prefix: str, tmp_path: Path) -> Iterator[World]:
    """30 events of 2026-03-02 in three batches: signed checkpoints 1..3 at positions 10, 20, 30."""
    master = os.urandom(32)
    key = checkpoint_key(tmp_path / "var", master)
    cfg = EsConfig(url=es_server.url, index_prefix=es_prefix, replicas=0)
    store = EsEventStore(make_client(cfg), cfg, tmp_path / "spool.db", signing=signing(key, tmp_path / "anchors"))
    events = make_events(30)
    for b in range(3):
        assert all(store.append(events[b * 10:(b + 1) * 10]))
    client = es_server.client()
    yield World(store, client, f"{es_prefix}-events-2026.03.02", tmp_path / "anchors", es_prefix, master)
    store.close()
    client.close()


def test_intact_indices_verify_and_iter_events_hides_the_chain(world: World) -> None:
    report = world.store.verify()
    assert report.ok and report.checked == 30 and report.signed == 3 and report.warnings == []
    assert all(CHAIN_FIELD not in e for e in world.store.iter_events())
    assert len((world.anchors / DAY_FILE).read_text().splitlines()) == 3
    assert world.store.append(make_events(5)) == [False] * 5  # resent: skipped positions are signed
    world.store.checkpoint()
    assert world.store.verify().ok


def test_edit(world: World) -> None:
    hit = world.docs()[4]
    world.rewrite(hit, user="someone_else")
    assert [(k, s) for k, s, _ in world.problems()] == [("edited", 5)]
    world.recompute()
    assert world.problems() == [("checkpoint", 10, f"{world.where}: signed checkpoint 1 (seq 10, {AT}) does not "
                                 "match the chain: events in seq 1..10 were edited, inserted or reordered and the "
                                 "chain recomputed (2 later signed checkpoint(s) differ as well)")]


def test_deletion(world: World) -> None:
    hit = world.docs()[13]
    world.client.delete(index=world.index, id=hit["_id"], refresh=True)
    (found, *_) = world.problems()
    assert found == ("deleted", 14, f"{world.where}: event seq 14 is missing before event "
                     f"{world.docs()[13]['_id']} (seq 15)")


def test_insertion(world: World) -> None:
    src = dict(world.docs()[3]["_source"])
    src.pop(CHAIN_FIELD)
    world.client.index(index=world.index, id="fake-1", document={**src, "event_id": "fake-1"}, refresh=True)
    copied = world.docs()[7]
    world.client.index(index=world.index, id="fake-2", refresh=True,
                       document={**copied["_source"], "event_id": "fake-2"})
    found = {(k, s) for k, s, _ in world.problems()}
    assert ("inserted", None) in found and ("inserted", copied["_source"][CHAIN_FIELD]["k"]) in found
    details = [d for _, _, d in world.problems()]
    assert f"{world.index}: event fake-1 carries no chain position: inserted into the index" in details


def test_reordering(world: World) -> None:
    a, b = world.docs()[21:23]
    ca, cb = a["_source"][CHAIN_FIELD], b["_source"][CHAIN_FIELD]  # swap the positions, each keeps its hash
    world.rewrite(a, **{CHAIN_FIELD: {**ca, "k": cb["k"]}})
    world.rewrite(b, **{CHAIN_FIELD: {**cb, "k": ca["k"]}})
    found = {(k, s) for k, s, _ in world.problems()}
    assert {("reordered", 22), ("reordered", 23)} <= found and {k for k, _ in found} == {"reordered"}
    world.recompute()
    assert [(k, s) for k, s, _ in world.problems()] == [("checkpoint", 30)]


def test_forged_purge(world: World) -> None:
    hits = world.docs()[2:6]
    for hit in hits:
        world.client.delete(index=world.index, id=hit["_id"], refresh=True)
    world.client.indices.refresh(index=checkpoint_index(world.prefix))
    first = parse(world.client.search(index=checkpoint_index(world.prefix), size=1)["hits"]["hits"][0]["_source"]["body"],
                  "")
    chain = f"es:{world.index}:{world.store._log.writer}"  # type: ignore[union-attr]
    last = hits[-1]["_source"][CHAIN_FIELD]["h"]
    forged = resign_with_own_key(first, chain=retention_chain(world.prefix), n=1, seq=1, reason="purge",
                                 extra={"index": world.index, "whole": False, "runs": [[chain, 3, 6, 4, last]]})
    world.client.index(index=checkpoint_index(world.prefix), id="forged", refresh=True,
                       document={"chain": forged.chain, "n": 1, "seq": 1, "body": forged.body, "sig": forged.signature})
    found = world.problems()
    assert ("forged-purge", 1, f"retention record: signed checkpoint 1 (seq 1, {AT}): signature does not verify "
            "under this deployment's key soc-checkpoint v1 (forged, edited, or signed by another key)") in found
    assert ("deleted", 3) in {(k, s) for k, s, _ in found}


def test_signed_purge_verifies(es_server: EsHandle, es_prefix: str, tmp_path: Path) -> None:
    from datetime import timedelta

    key = checkpoint_key(tmp_path)
    cfg = EsConfig(url=es_server.url, index_prefix=es_prefix, replicas=0)
    store = EsEventStore(make_client(cfg), cfg, tmp_path / "spool.db", signing=signing(key, None))
    start = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
    events = [dict(e, ts=(start + timedelta(hours=i)).isoformat(), event_id=f"p-{i}") for i, e in
              enumerate(make_events(30))]  # 2026-03-01 12:00 .. 2026-03-02 17:00 UTC
    store.append(events)
    deleted = store.purge(datetime(2026, 3, 2, 6, 0, tzinfo=timezone.utc))  # a whole day and part of the next
    assert deleted == 18
    report = store.verify()
    assert report.ok, report.problems
    assert report.purged == 18 and report.checked == 12 and report.warnings == [NO_ANCHORS]
    store.close()


def test_tail_deletion_and_rollback(world: World) -> None:
    for hit in world.docs()[25:]:
        world.client.delete(index=world.index, id=hit["_id"], refresh=True)
    assert world.problems() == [("deleted", 26, f"{world.where}: events seq 26..30 are missing at the end of the "
                                 f"chain: signed checkpoint 3 (seq 30, {AT}) covers them (tail deleted, head and "
                                 "checkpoints recomputed)")]
    chain = f"es:{world.index}:{world.store._log.writer}"  # type: ignore[union-attr]
    world.client.delete(index=checkpoint_index(world.prefix), id=f"{chain}:3", refresh=True)
    (found,) = world.problems()
    assert found[0] == "rollback" and found[1] == 30
    assert found[2].startswith(f"the store no longer reaches anchored signed checkpoint 3 (seq 30, {AT}) of "
                               f"{chain} ({DAY_FILE}:3); its last signed checkpoint is 2 (seq 20)")


def test_whole_index_deleted_without_signed_purge(world: World) -> None:
    world.client.indices.delete(index=world.index)
    assert world.problems() == [("deleted", 1, f"{world.where}: all 30 events of signed checkpoint 3 (seq 30, "
                                 f"{AT}) are gone and no signed purge record removed them")]


def test_checkpoint_signed_by_another_key(world: World) -> None:
    world.recompute()
    chain = f"es:{world.index}:{world.store._log.writer}"  # type: ignore[union-attr]
    doc = world.client.get(index=checkpoint_index(world.prefix), id=f"{chain}:3")["_source"]
    head = sorted(world.docs(), key=lambda h: h["_source"][CHAIN_FIELD]["k"])[-1]["_source"][CHAIN_FIELD]["h"]
    forged = resign_with_own_key(parse(doc["body"], doc["sig"]), head=head)
    world.client.index(index=checkpoint_index(world.prefix), id=f"{chain}:3", refresh=True,
                       document={**doc, "body": forged.body, "sig": forged.signature})
    found = world.problems()
    assert found[0] == ("forged-checkpoint", 30, f"signed checkpoint 3 (seq 30, {AT}): signature does not verify "
                        "under this deployment's key soc-checkpoint v1 (forged, edited, or signed by another key)")


def test_rolled_back_anchor_file(world: World) -> None:
    saved = (world.anchors / DAY_FILE).read_bytes()
    world.store.append(make_events(10, seed=8))
    world.store.checkpoint()
    (world.anchors / DAY_FILE).write_bytes(saved)
    (found,) = world.problems()
    assert found[0] == "anchor" and found[2].startswith(f"anchor file {DAY_FILE} lacks signed checkpoint 4 (seq 40, ")
    assert found[2].endswith("which was anchored: the anchor file was rolled back or truncated (1 checkpoint(s) "
                             "missing)")


def test_es_verify_cli(world: World, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from classifier.settings import get_settings
    from soc.cli.main import app

    monkeypatch.setenv("SHUWEI_DATA_DIR", str(world.anchors.parent / "var"))  # the keyring of the writer
    monkeypatch.setenv("SHUWEI_MASTER_KEY", world.master.hex())
    monkeypatch.setenv("SHUWEI_ES__URL", world.store.cfg.url)
    monkeypatch.setenv("SHUWEI_ES__INDEX_PREFIX", world.prefix)
    get_settings.cache_clear()
    ok = CliRunner().invoke(app, ["es", "verify", "--anchors", str(world.anchors)])
    assert ok.exit_code == 0 and "ok: 30 events verified, 0 purged by retention, 3 signed checkpoints" in ok.stdout
    hit = world.docs()[4]
    world.rewrite(hit, rows=1)
    bad = CliRunner().invoke(app, ["es", "verify", "-f", "json"])
    assert bad.exit_code == 1
    (problem,) = json.loads(bad.stdout)["problems"]
    assert problem["kind"] == "edited" and problem["event_id"] == hit["_id"] and problem["seq"] == 5
    assert json.loads(bad.stdout)["warnings"] == [NO_ANCHORS]


def test_all_checkpoints_deleted(world: World) -> None:
    index = checkpoint_index(world.prefix)
    world.client.indices.refresh(index=index)
    for hit in world.client.search(index=index, size=100)["hits"]["hits"]:  # no delete-by-query here
        world.client.delete(index=index, id=hit["_id"], refresh=True)
    found = world.problems()
    assert ("inserted", 1, f"{world.where}: 30 event(s) in no signed chain: inserted, or their signed "
            "checkpoints were deleted") in found
    assert {k for k, _, _ in found} == {"inserted", "rollback"}  # the anchors still hold them


def test_outage_spools_events_and_defers_checkpoints(tmp_path: Path) -> None:
    """No cluster: events go to the spool with their chain positions, the checkpoint is signed and
    anchored at once, and its write waits for the cluster instead of stalling ingest."""
    key = checkpoint_key(tmp_path)
    cfg = EsConfig(url="http://127.0.0.1:9", index_prefix="down", replicas=0, max_retries=0,
                   request_timeout=2)
    store = EsEventStore(make_client(cfg), cfg, tmp_path / "spool.db", signing=signing(key, tmp_path / "anchors"))
    assert all(store.append(make_events(12)))
    assert store.spool.pending() == 12
    (cp, anchored), = store._log.unsent  # type: ignore[union-attr]
    assert (cp.n, cp.seq, anchored) == (1, 12, True)
    assert len((tmp_path / "anchors" / DAY_FILE).read_text().splitlines()) == 1
    store.close()
