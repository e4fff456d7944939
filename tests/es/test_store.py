"""EsEventStore / EsAlertStore against the real server: template, idempotent bulk, order, retention."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from classifier.settings import load_settings
from soc.store.base import AlertStore, EventStore
from soc.store.es import EsAlertStore, EsConfig, es_config, make_client
from tests.es.conftest import EsHandle
from tests.es.events import make_events


def test_template_and_mapping_installed(make_store, es_prefix: str) -> None:
    store = make_store()
    assert isinstance(store, EventStore)
    store.append(make_events(3))
    client = store.client
    template = client.indices.get_index_template(name=f"{es_prefix}-events")["index_templates"][0]
    assert template["index_template"]["index_patterns"] == [f"{es_prefix}-events-*"]
    index = f"{es_prefix}-events-2026.03.02"
    props = client.indices.get_mapping(index=index)[index]["mappings"]["properties"]
    assert props["ts"]["type"] == "date"
    assert props["rows"]["type"] == props["bytes"]["type"] == "long"
    assert props["src_ip"]["type"] == "ip" and props["src_ip"]["fields"]["text"]["type"] == "keyword"
    assert props["extra"]["type"] == "flattened"
    assert props["user"] == {"type": "keyword", "normalizer": "shuwei_lowercase", "ignore_above": 8191,
                             "doc_values": False, "fields": {"raw": {"type": "keyword", "ignore_above": 8191}}}
    settings = client.indices.get_settings(index=index)[index]["settings"]["index"]
    assert settings["translog"]["durability"] == "request"
    # The normaliser makes keyword matches case-insensitive, as Sigma's default is.
    store.refresh()
    upper = client.count(index=index, query={"term": {"user": "SVC_BATCH"}})["count"]
    lower = client.count(index=index, query={"term": {"user": "svc_batch"}})["count"]
    assert upper == lower


def test_bulk_ingest_is_idempotent_on_resend(make_store) -> None:
    store = make_store(batch_size=250, workers=2)
    events = make_events(1200)
    assert store.append(events) == [True] * 1200
    again = events[:300] + make_events(5, seed=99)
    assert store.append(again) == [False] * 300 + [True] * 5
    assert store.append([events[0], events[0]]) == [False, False]
    fresh = make_events(1, seed=123)
    assert store.append(fresh + fresh) == [True, False]  # the same id twice in one batch
    assert store.count() == 1206


def test_iter_events_in_arrival_order_with_time_bounds(make_store) -> None:
    store = make_store(batch_size=100)
    events = make_events(500)
    shuffled = events[250:] + events[:250]  # arrival order differs from event time
    store.append(shuffled)
    got = [e["event_id"] for e in store.iter_events()]
    assert got == [e["event_id"] for e in shuffled]
    assert list(store.iter_events())[0] == shuffled[0]  # the stored doc is the event as given
    since = datetime.fromisoformat(events[100]["ts"])
    until = datetime.fromisoformat(events[200]["ts"])
    window = [e["event_id"] for e in store.iter_events(since=since, until=until)]
    expect = [e["event_id"] for e in shuffled if since <= datetime.fromisoformat(e["ts"]) < until]
    assert window == expect and len(expect) >= 100
    exports = [e["event_id"] for e in store.iter_events(action="EXPORT")]
    assert exports == [e["event_id"] for e in shuffled if e["action"] == "export"] and exports
    windowed = [e["event_id"] for e in store.iter_events(since=since, until=until, action="export")]
    assert windowed == [i for i in exports if i in set(expect)]


def test_retention_deletes_by_event_time(make_store, es_prefix: str) -> None:
    store = make_store()
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    events = make_events(400, start=start)  # spans several days
    store.append(events)
    cutoff = datetime.fromisoformat(events[250]["ts"])  # inside a day: partial day delete
    older = sum(datetime.fromisoformat(e["ts"]) < cutoff for e in events)
    assert store.count_before(cutoff) == older
    assert store.purge(cutoff) == older
    left = list(store.iter_events())
    assert len(left) == 400 - older
    assert all(datetime.fromisoformat(e["ts"]) >= cutoff for e in left)
    days = store.client.indices.get(index=f"{es_prefix}-events-*")
    assert min(days) >= f"{es_prefix}-events-{cutoff.astimezone(timezone.utc):%Y.%m.%d}"
    # Default 180 days: everything is older than that relative to a "now" a year later.
    assert store.retention_days == 180
    assert store.apply_retention(now=start + timedelta(days=365)) == 400 - older
    assert store.count() == 0


def test_alert_store_round_trip(es_server: EsHandle, es_prefix: str) -> None:
    cfg = EsConfig(url=es_server.url, index_prefix=es_prefix, replicas=0)
    alerts = EsAlertStore(make_client(cfg), cfg)
    assert isinstance(alerts, AlertStore)
    a1 = {"id": "a1", "rule_id": "r", "status": "new", "severity": "high", "count": 1,
          "first_seen": "2026-03-02T10:00:00+08:00", "last_seen": "2026-03-02T10:00:00+08:00"}
    alerts.put(a1, rule_id="r", group_key='{"user":"u1"}', last_epoch=100.0)
    assert alerts.find_open("r", '{"user":"u1"}', 50.0) == a1
    assert alerts.find_open("r", '{"user":"u1"}', 150.0) is None  # outside the window
    assert alerts.find_open("r", '{"user":"u2"}', 0.0) is None
    alerts.put({**a1, "status": "resolved"}, rule_id="r", group_key='{"user":"u1"}', last_epoch=100.0)
    assert alerts.find_open("r", '{"user":"u1"}', 50.0) is None  # closed alerts take no matches
    a2 = {**a1, "id": "a2"}
    alerts.put(a2, rule_id="r", group_key='{"user":"u1"}', last_epoch=200.0)
    assert [a["id"] for a in alerts.list()] == ["a2", "a1"]
    assert [a["id"] for a in alerts.list(status="resolved")] == ["a1"]
    assert [a["id"] for a in alerts.list(limit=1)] == ["a2"]
    assert alerts.get("a1")["status"] == "resolved" and alerts.get("nope") is None
    alerts.close()


def test_config_env_url_and_secrets_never_shown(tmp_path: Path) -> None:
    config = tmp_path / "shuwei.yaml"
    config.write_text("es:\n  url: https://es.internal:9200\n  api_key: c2VjcmV0LWtleQ==\n"
                      "  ca_file: /etc/ssl/gov-ca.pem\n  replicas: 2\n")
    settings = load_settings(config, environ={})
    cfg = es_config(settings)
    assert cfg.url == "https://es.internal:9200" and cfg.replicas == 2
    assert "c2VjcmV0LWtleQ" not in repr(cfg) and "c2VjcmV0LWtleQ" not in str(cfg.model_dump())
    env = load_settings(config, environ={"SHUWEI_ES_URL": "http://10.0.0.9:9200"})
    assert es_config(env).url == "http://10.0.0.9:9200"
    bad = tmp_path / "bad.yaml"
    bad.write_text("es:\n  shards: 0\n")
    with pytest.raises(ValueError, match="es.shards"):
        es_config(load_settings(bad, environ={}))


def test_refused_event_is_kept_as_dead_letter_not_lost(make_store, es_prefix: str) -> None:
    store = make_store(max_retries=1, backoff_seconds=0.05)
    first, second = make_events(2, seed=5)
    store.append([first])
    index = f"{es_prefix}-events-2026.03.02"
    store.client.indices.close(index=index)  # ES now refuses writes to that day (400, not retryable)
    assert store.append([second]) == [True]  # acknowledged: it is kept locally
    dead = store.spool.dead_letters()
    assert [d["event_id"] for d in dead] == [second["event_id"]]
    assert "closed" in dead[0]["reason"]
    store.client.indices.open(index=index)
