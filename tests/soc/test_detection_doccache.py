"""The YAML document cache of large rule directories (soc/detection/doccache.py): a cached load
is the load YAML gives; an edited file is parsed again; a broken cache is ignored."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import yaml

from soc.detection import RulePack, hunt
from soc.detection.doccache import MIN_FILES

RULE = """title: Rule {i}
id: 00000000-0000-4000-8000-{i:012d}
status: test
date: 2024-03-0{d}
logsource: {{product: windows}}
detection:
  sel:
    EventID: {i}
    Image|endswith: '\\\\tool{i}.exe'
  condition: sel
level: high
"""


@pytest.fixture()
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    where = tmp_path / "cache"
    monkeypatch.setenv("SHUWEI_RULE_CACHE", str(where))
    return where


def _corpus(root: Path, n: int = MIN_FILES) -> Path:
    root.mkdir()
    for i in range(n):
        (root / f"r{i}.yml").write_text(RULE.format(i=i, d=1 + i % 9), encoding="utf-8")
    return root


def _summary(pack: RulePack) -> tuple[object, ...]:
    events = [{"EventID": i, "Image": f"C:\\x\\TOOL{i}.exe"} for i in range(0, MIN_FILES, 7)]
    return ([(r.id, r.title, r.date, r.level) for r in pack.rules], [str(e) for e in pack.errors],
            pack.anchors, [(m.rule_id, m.line) for m in hunt(pack, events)])


def test_a_cached_load_is_the_parsed_load(tmp_path: Path, cache: Path) -> None:
    rules = _corpus(tmp_path / "rules")
    first = RulePack.load(rules)
    assert list(cache.glob("sigma-docs-*.json")), "a large directory is cached"
    second = RulePack.load(rules)
    assert _summary(second) == _summary(first)
    assert {r.title: r.date for r in second.rules}["Rule 3"] == date(2024, 3, 4)


def test_an_edited_file_is_parsed_again(tmp_path: Path, cache: Path) -> None:
    rules = _corpus(tmp_path / "rules")
    RulePack.load(rules)
    (rules / "r5.yml").write_text(RULE.format(i=5, d=1).replace("level: high", "level: low"),
                                  encoding="utf-8")
    (rules / "r6.yml").write_text("title: [unclosed\n", encoding="utf-8")
    pack = RulePack.load(rules)
    assert {str(r.id)[-2:]: r.level.name for r in pack.rules}["05"] == "LOW"
    assert [e.path for e in pack.errors] == [str(rules / "r6.yml")]


def test_a_corrupt_or_foreign_cache_is_ignored(tmp_path: Path, cache: Path) -> None:
    rules = _corpus(tmp_path / "rules")
    expected = _summary(RulePack.load(rules))
    (file,) = cache.glob("sigma-docs-*.json")
    file.write_bytes(file.read_bytes()[:1000])
    assert _summary(RulePack.load(rules)) == expected
    file.write_text('{"format": "other", "files": {}}', encoding="utf-8")
    assert _summary(RulePack.load(rules)) == expected


def test_small_directories_and_yaml_aliases_are_not_cached(tmp_path: Path, cache: Path) -> None:
    RulePack.load(_corpus(tmp_path / "small", MIN_FILES - 1))
    assert not cache.exists()
    rules = _corpus(tmp_path / "rules")
    shared = {"title": "Aliased", "logsource": {"product": "windows"},
              "detection": {"a": {"x": [1, 2]}, "condition": "a"}}
    text = yaml.safe_dump(shared).replace("x:\n    - 1\n    - 2", "x: &v [1, 2]\n    y: *v")
    (rules / "alias.yml").write_text(text, encoding="utf-8")
    RulePack.load(rules)
    (file,) = cache.glob("sigma-docs-*.json")
    assert "alias.yml" not in file.read_text(encoding="utf-8")


def test_an_empty_setting_disables_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHUWEI_RULE_CACHE", "")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    RulePack.load(_corpus(tmp_path / "rules"))
    assert not (tmp_path / "xdg").exists()
