"""Anomaly detectors: volume above the user's own baseline, first L4 access, dormant account."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from soc.anomaly import load_anomaly_config
from soc.ingest import IngestPipeline
from tests.soc.pipeline_helpers import PEOPLE, RULE_CANARY, event, grade, use_rules

TZ = timezone(timedelta(hours=8))
START = datetime(2026, 3, 2, 9, 0, tzinfo=TZ)
_n = iter(range(1, 10**6))


def ev(at: datetime, **kw):
    n = next(_n)
    return event(n, ts=at.isoformat(), event_id=f"a-{n}", **kw)


@pytest.fixture()
def pipe(settings, tmp_path, monkeypatch):
    s = use_rules(tmp_path, monkeypatch, RULE_CANARY)
    grade(s, "pop_basic", PEOPLE)
    grade(s, "weather", {"站点": (None, "L1", None)})
    p = IngestPipeline.from_settings(s)
    yield p
    p.close()


def rules(res):
    return sorted(a["rule_id"] for a in res.alerts)


def test_volume_far_above_own_baseline(pipe):
    history = [ev(START + timedelta(hours=h), user="u1", action="download", dataset="weather", rows=500)
               for h in range(10)]
    assert rules(pipe.ingest(history, origin="api")) == []
    normal = pipe.ingest([ev(START + timedelta(hours=10, minutes=m), user="u1", action="download",
                             dataset="weather", rows=900) for m in range(3)], origin="api")
    assert rules(normal) == []  # 2,700 rows: above the mean, below factor x baseline and the floor
    spike = pipe.ingest([ev(START + timedelta(hours=11, minutes=m), user="u1", action="download",
                            dataset="weather", rows=20_000) for m in range(3)], origin="api")
    (alert,) = spike.alerts
    assert alert["rule_id"] == "anomaly.volume" and alert["group"] == {"user": "u1"}
    assert alert["severity"] == "high" and alert["count"] == 1  # once per user and hour


def test_no_volume_judgement_without_enough_baseline(pipe):
    res = pipe.ingest([ev(START + timedelta(hours=h), user="new", action="download", rows=200_000 * h)
                       for h in range(3)], origin="api")
    assert rules(res) == []


def test_first_access_to_an_l4_dataset(pipe):
    pipe.ingest([ev(START - timedelta(days=3), user="u2", dataset="weather")], origin="api")
    res = pipe.ingest([ev(START, user="u2", dataset="pop_basic", fields=["姓名"])], origin="api")
    (alert,) = res.alerts  # the dataset is L4 even though this event touched an L3 field
    assert alert["rule_id"] == "anomaly.first_l4_access"
    assert alert["group"] == {"user": "u2", "dataset": "pop_basic"}
    again = pipe.ingest([ev(START + timedelta(days=1), user="u2", dataset="pop_basic")], origin="api")
    assert rules(again) == []
    denied = pipe.ingest([ev(START, user="u2b", dataset="pop_basic", result="denied")], origin="api")
    assert rules(denied) == []


def test_brand_new_account_is_still_learning(pipe):
    res = pipe.ingest([ev(START, user="u3", dataset="pop_basic")], origin="api")
    assert rules(res) == []


def test_dormant_account_back_in_use(pipe):
    pipe.ingest([ev(START - timedelta(days=45), user="u4", action="login")], origin="api")
    res = pipe.ingest([ev(START, user="u4", action="login"),
                       ev(START + timedelta(minutes=5), user="u4", dataset="weather")], origin="api")
    (alert,) = res.alerts
    assert alert["rule_id"] == "anomaly.dormant_account" and alert["users"] == ["u4"]
    assert alert["count"] == 1


def test_baselines_survive_a_restart(settings, tmp_path, monkeypatch):
    s = use_rules(tmp_path, monkeypatch, RULE_CANARY)
    p = IngestPipeline.from_settings(s)
    p.ingest([ev(START - timedelta(days=40), user="u5", action="login")], origin="api")
    p.close()
    p = IngestPipeline.from_settings(s)
    try:
        assert rules(p.ingest([ev(START, user="u5", action="login")], origin="api")) == [
            "anomaly.dormant_account"]
    finally:
        p.close()


def test_anomaly_yaml_errors_name_the_field(tmp_path):
    from classifier.settings import REPO_ROOT, ConfigError

    assert load_anomaly_config(REPO_ROOT / "policies" / "anomaly.yaml").dormant_account.dormant_days == 30
    bad = tmp_path / "anomaly.yaml"
    bad.write_text("volume:\n  factor: 0.5\n")
    with pytest.raises(ConfigError, match="volume.factor"):
        load_anomaly_config(bad)
