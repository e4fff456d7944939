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
