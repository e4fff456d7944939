"""Parity: the shipped rule pack raises the same matches and the same alerts with memory,
SQLite and Elasticsearch, over every fixture case of the pack in one stream."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from classifier.settings import get_settings
from soc.detection import RulePack, hunt
from soc.detection.es_hunt import es_hunt
from soc.detection.pack import rule_key
from soc.ingest import IngestPipeline
from soc.store.sqlite import SqliteEventStore
from soc.validate import EventError, validate_event
from tests.es.conftest import EsHandle
from tests.es.test_hunt import signature

PACK_DIR = Path(__file__).resolve().parents[2] / "policies" / "sigma"
SPACING = timedelta(hours=3)  # > 2 × the longest window (1 h): cases cannot mix


def fixture_stream() -> tuple[list[dict[str, Any]], dict[str, tuple[str, str]]]:
    """Every case of policies/sigma/tests as one stream: case k shifted by k × SPACING and its
    event ids prefixed, so cases stay independent. Returns events and case -> (rule stem, kind)."""
    events: list[dict[str, Any]] = []
    cases: dict[str, tuple[str, str]] = {}
    k = 0
    for file in sorted((PACK_DIR / "tests").glob("*.json")):
        data = json.loads(file.read_text(encoding="utf-8"))
        for kind in ("match", "no_match"):
            for case in data[kind]:
                if not all(_valid(e) for e in case):
                    continue  # stores only ever hold validated events (e.g. rows: "50000")
                tag = f"c{k:03d}"
                cases[tag] = (file.stem, kind)
                for e in case:
                    e = dict(e)
                    if isinstance(e.get("ts"), str):
                        e["ts"] = (datetime.fromisoformat(e["ts"]) + k * SPACING).isoformat()
                    e["event_id"] = f"{tag}-{e['event_id']}"
                    events.append(e)
                k += 1
    return events, cases


def _valid(event: dict[str, Any]) -> bool:
    try:
        validate_event(event)
    except EventError:
        return False
    return True


@pytest.fixture(scope="module")
def stream() -> tuple[list[dict[str, Any]], dict[str, tuple[str, str]]]:
    return fixture_stream()


def test_rule_pack_parity_memory_sqlite_elasticsearch(stream, make_store, tmp_path: Path) -> None:
    events, cases = stream
    pack = RulePack.load(PACK_DIR)
    assert pack.errors == []
    memory = [signature(m) for m in hunt(pack, events, backend="memory")]
    sqlite_store = SqliteEventStore(tmp_path / "soc.db")
    sqlite_store.append(events)
    sqlite_store.close()
    sqlite = [signature(m) for m in hunt(pack, tmp_path / "soc.db", backend="sqlite")]
    es_store = make_store()
    es_store.append(events)
    es = [signature(m) for m in es_hunt(pack, es_store)]
    assert memory == sqlite
    assert es == memory
    # Meaningful: every rule's "match" case fires on ES, and the correlation types are all there.
    stems_by_key = {k: Path(p).stem for k, p in pack.paths.items()}
    fired = {(m[1] or "").split("-")[0] + ":" + stems_by_key[m[0]] for m in es}
    for m in es:
        for eid in m[4]:
            fired.add(eid.split("-")[0] + ":" + stems_by_key[m[0]])
    hidden = {Path(pack.paths[rule_key(r)]).stem for r in pack.rules if not r._output}
    missing = [f"{tag} {stem}" for tag, (stem, kind) in cases.items()
               if kind == "match" and stem not in hidden and f"{tag}:{stem}" not in fired]
    assert not missing, missing
    assert len({c.type for c in pack.correlations}) >= 5


def _alerts(pipe: IngestPipeline) -> list[tuple[Any, ...]]:
    out = []
    for a in pipe.alerts.store.list():
        out.append((a["rule_id"], json.dumps(a["group"], sort_keys=True), a["count"], a["severity"],
                    a["first_seen"], a["last_seen"], tuple(a["event_ids"])))
    return sorted(out)


@pytest.fixture()
def es_settings(es_server: EsHandle, es_prefix: str, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("SHUWEI_ES_URL", es_server.url)
    monkeypatch.setenv("SHUWEI_ES__INDEX_PREFIX", es_prefix)
    monkeypatch.setenv("SHUWEI_ES__REPLICAS", "0")
    yield


def test_ingest_alert_parity_sqlite_elasticsearch(stream, es_settings, data_dir: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    events, _ = stream
    results = {}
    for backend in ("sqlite", "elasticsearch"):
        monkeypatch.setenv("SHUWEI_DATA_DIR", str(data_dir / backend))
        monkeypatch.setenv("SHUWEI_SOC__STORE", backend)
        get_settings.cache_clear()
        pipe = IngestPipeline.from_settings(get_settings(), playbooks=False)
        try:
            res = pipe.ingest(events, origin="parity")
            assert res.rejected == [] and res.accepted == len(events)
            again = pipe.ingest(events[:50], origin="parity")  # resent: neither stored nor alerted
            assert again.accepted == 0 and again.duplicates == 50 and again.alerts == []
            results[backend] = _alerts(pipe)
            assert pipe.store.count() == len(events)
        finally:
            pipe.close()
    get_settings.cache_clear()
    assert results["sqlite"], "the pack raised no alert: the comparison would be empty"
    assert results["elasticsearch"] == results["sqlite"]
