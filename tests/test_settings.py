from pathlib import Path

import pytest

from classifier import audit
from classifier.settings import ConfigError, load_settings


def test_yaml_then_environment(tmp_path: Path) -> None:
    cfg = tmp_path / "shuwei.yaml"
    cfg.write_text("data_dir: /srv/shuwei\nsoc:\n  retention_days: 90\n", encoding="utf-8")
    s = load_settings(cfg, environ={"SHUWEI_SOC__RETENTION_DAYS": "30"})
    assert s.data_dir == Path("/srv/shuwei")
    assert s.section("soc") == {"retention_days": "30"}
    assert s.section("crypto") == {}


def test_bad_yaml_names_file_and_line(tmp_path: Path) -> None:
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("data_dir: a\nsoc: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad\.yaml:\d+"):
        load_settings(cfg, environ={})


def test_audit_outbox_appends_contract_events(data_dir: Path) -> None:
    audit.emit(audit.make_event("key_rotate", user="admin", dataset=None, extra={"key_id": "k1"}))
    lines = audit.outbox_path(data_dir).read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1
    assert '"action": "key_rotate"' in lines[0] and '"dataset"' not in lines[0]


def test_config_found_upward_and_its_paths_relative_to_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "shuwei.yaml").write_text("data_dir: store\npolicy_dir: pol\n", encoding="utf-8")
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)
    s = load_settings(environ={})
    assert s.source_file == tmp_path / "shuwei.yaml"
    assert s.data_dir == tmp_path / "store" and s.policy_dir == tmp_path / "pol"
    assert s.data_dir_origin() == str(tmp_path / "shuwei.yaml")
    env = load_settings(environ={"SHUWEI_DATA_DIR": "here"})     # the environment: relative to the cwd
    assert env.data_dir == deep / "here" and env.data_dir_origin() == "SHUWEI_DATA_DIR"


def test_default_data_dir_is_absolute_and_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    s = load_settings(environ={})
    assert s.source_file is None and s.data_dir == tmp_path / "var"
    assert "default ./var" in s.data_dir_origin()


def test_every_command_that_opens_the_data_dir_says_where(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from classifier.settings import get_settings
    from soc.cli.main import app

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SHUWEI_DATA_DIR", raising=False)
    monkeypatch.delenv("SHUWEI_CONFIG", raising=False)
    get_settings.cache_clear()
    events = tmp_path / "e.jsonl"
    events.write_text('{"ts": "2026-03-02T10:00:00+08:00", "event_id": "e1", "source": "p", "user": "u1", '
                      '"action": "login", "result": "success"}\n', encoding="utf-8")
    for args in (["classify", "list"], ["soc", "ingest", str(events)], ["soc", "alerts"],
                 ["evidence", "check"], ["apikey", "list"]):
        res = CliRunner().invoke(app, args)
        assert res.stderr.splitlines()[0] == f"data: {tmp_path / 'var'} (default ./var of the current directory)", args
    rules = CliRunner().invoke(app, ["soc", "rules", "list"])   # reads no data: says nothing
    assert "data:" not in rules.stderr
    get_settings.cache_clear()


def test_a_data_dir_that_cannot_be_created_is_one_error_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from classifier.settings import get_settings
    from soc.cli.main import app

    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory", encoding="utf-8")
    monkeypatch.setenv("SHUWEI_DATA_DIR", str(blocker / "var"))
    monkeypatch.delenv("SHUWEI_CONFIG", raising=False)
    get_settings.cache_clear()
    for args in (["soc", "alerts"], ["crypto", "keys", "list"], ["classify", "list"]):
        res = CliRunner().invoke(app, args)
        assert res.exit_code == 2, (args, res.output)
        assert res.stderr.strip().splitlines() == [
            f"error: data directory {blocker / 'var'} (SHUWEI_DATA_DIR): cannot create it: Not a directory; "
            "set SHUWEI_DATA_DIR or data_dir to a writable directory"], args
    get_settings.cache_clear()
