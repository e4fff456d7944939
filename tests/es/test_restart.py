"""Detection across restarts on the Elasticsearch store (issue 16): windows rebuilt from the
cluster, stored-but-undetected events detected at start, the same alerts as one uninterrupted run.

The SIGKILL test of tests/soc/test_detection_restart.py covers the process side on SQLite; here
the two states a kill leaves are made directly: a pipeline stopped after a batch (its state is
checkpointed per batch, as a killed one's is), and events stored without detection (a kill
between the bulk write and the checkpoint)."""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from classifier.settings import get_settings
from soc.ingest import IngestPipeline
from soc.traffic import generate, seed_catalog
from soc.validate import validate_event
from tests.es.conftest import EsHandle


@pytest.fixture()
def prefixes(es_server: EsHandle) -> Iterator[list[str]]:
    names = [f"t{uuid.uuid4().hex[:10]}" for _ in range(2)]
    yield names
    client = es_server.client()
    for prefix in names:
        client.options(ignore_status=404).indices.delete(index=f"{prefix}-*", expand_wildcards="all")
        client.options(ignore_status=404).indices.delete_index_template(name=f"{prefix}-*")
    client.close()


def _pipeline(monkeypatch: pytest.MonkeyPatch, es: EsHandle, data_dir: Path, prefix: str) -> IngestPipeline:
    monkeypatch.setenv("SHUWEI_DATA_DIR", str(data_dir))
    monkeypatch.setenv("SHUWEI_SOC__STORE", "elasticsearch")
    monkeypatch.setenv("SHUWEI_ES_URL", es.url)
    monkeypatch.setenv("SHUWEI_ES__INDEX_PREFIX", prefix)
    monkeypatch.setenv("SHUWEI_ES__REPLICAS", "0")
    monkeypatch.setenv("SHUWEI_PLAYBOOK_DIR", str(data_dir / "no-playbooks"))
    get_settings.cache_clear()
    return IngestPipeline.from_settings(get_settings(), playbooks=False)


def _alerts(pipe: IngestPipeline) -> list[tuple[Any, ...]]:
    return sorted((a["rule_id"], json.dumps(a["group"], sort_keys=True, ensure_ascii=False),
                   tuple(a["users"]), a["first_seen"], a["last_seen"], tuple(a["event_ids"]), a["count"])
                  for a in pipe.alerts.store.list())


def test_restart_on_elasticsearch_reaches_the_uninterrupted_alerts(es_server: EsHandle, prefixes,
                                                                   data_dir: Path, tmp_path: Path,
                                                                   monkeypatch) -> None:
    traffic = generate(3000, seed=3)
    events = traffic.history + traffic.day
    at = {e["event_id"]: i for i, e in enumerate(events)}
    logins = [at[i] for sc in traffic.scenarios if sc.name == "credential_many_ips" for i in sc.event_ids]
    spike = [at[i] for sc in traffic.scenarios if sc.name == "decrypt_spike" for i in sc.event_ids]
    stop, stored_only = logins[3] + 1, spike[29] + 1  # inside two correlation windows

    whole_dir, restarted_dir = tmp_path / "whole", tmp_path / "restarted"
    whole_dir.mkdir()
    monkeypatch.setenv("SHUWEI_DATA_DIR", str(whole_dir))
    get_settings.cache_clear()
    seed_catalog(get_settings(), rows=40)
    restarted_dir.mkdir()
    shutil.copy(whole_dir / "catalog.db", restarted_dir / "catalog.db")

    pipe = _pipeline(monkeypatch, es_server, whole_dir, prefixes[0])
    try:
        assert not pipe.ingest(events, origin="test").rejected
        expected = _alerts(pipe)
    finally:
        pipe.close()
    assert len({a[0] for a in expected}) >= 8, expected

    pipe = _pipeline(monkeypatch, es_server, restarted_dir, prefixes[1])
    try:
        pipe.ingest(events[:stop], origin="test")  # then the process goes away
    finally:
        pipe.close()
    pipe = _pipeline(monkeypatch, es_server, restarted_dir, prefixes[1])
    try:
        pipe.ingest(events[:stop + 1], origin="test")  # a restart warms up from the cluster
        assert pipe.state is not None and pipe.state.last_warmup.replayed > 0
        # stored (validated and enriched, as ingest stores them), never detected: what a kill
        # between the bulk write and the checkpoint leaves
        unseen = [dict(e) for e in events[stop + 1:stored_only]]
        for event in unseen:
            pipe.enricher.enrich(event, validate_event(event))
        assert pipe.store.append(unseen) == [True] * len(unseen)
    finally:
        pipe.close()
    pipe = _pipeline(monkeypatch, es_server, restarted_dir, prefixes[1])
    try:
        res = pipe.ingest(events, origin="test")  # the whole file again: its first part is stored
        assert pipe.state is not None and pipe.state.last_warmup.recovered == stored_only - stop - 1
        assert res.duplicates == stored_only and res.accepted == len(events) - stored_only
        got = _alerts(pipe)
    finally:
        pipe.close()
    assert got == expected
