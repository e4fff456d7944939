"""`shuwei es ...` against the real server, as a user runs it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from classifier.settings import get_settings
from soc.cli.main import app
from tests.es.conftest import EsHandle
from tests.es.events import make_events

RULES = Path(__file__).parent / "rules"


@pytest.fixture()
def cli_env(es_server: EsHandle, es_prefix: str, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("SHUWEI_ES_URL", es_server.url)
    monkeypatch.setenv("SHUWEI_ES__INDEX_PREFIX", es_prefix)
    monkeypatch.setenv("SHUWEI_ES__REPLICAS", "0")
    get_settings.cache_clear()
    return es_prefix


def run(*args: str) -> tuple[int, str, str]:
    res = CliRunner().invoke(app, list(args))
    return res.exit_code, res.stdout, res.stderr


def test_setup_status_hunt_retention(cli_env: str) -> None:
    from soc.store.es import EsEventStore

    code, out, _ = run("es", "setup")
    assert code == 0 and f"{cli_env}-events" in out
    store = EsEventStore.from_settings(get_settings())
    events = make_events(400)
    store.append(events)
    store.close()
    code, out, _ = run("es", "status", "--format", "json")
    status = json.loads(out)
    assert code == 0 and status["cluster_status"] in ("green", "yellow")
    assert sum(i["events"] for i in status["indices"]) == 400 and status["spooled"] == 0
    code, out, err = run("es", "hunt", "--rules", str(RULES), "--format", "json")
    assert code == 0, err
    matches = json.loads(out)
    from soc.detection import RulePack, hunt

    expected = hunt(RulePack.load(RULES), events)
    assert [(m["rule_id"], m.get("event_id")) for m in matches] == [(m.rule_id, m.event_id) for m in expected]
    code, out, _ = run("es", "retention", "--before", events[200]["ts"])
    assert code == 0 and out.strip() == "deleted 200 events"
    code, _, err = run("es", "hunt", "--since", "yesterday")
    assert code == 2 and "--since" in err


def test_unreachable_cluster_is_one_line_error(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHUWEI_ES_URL", "http://127.0.0.1:1")
    monkeypatch.setenv("SHUWEI_ES__PASSWORD", "s3cret-pw")
    monkeypatch.setenv("SHUWEI_ES__USERNAME", "shuwei")
    get_settings.cache_clear()
    code, out, err = run("es", "setup")
    assert code == 1 and "http://127.0.0.1:1" in err and "Traceback" not in err
    assert "s3cret-pw" not in out + err
