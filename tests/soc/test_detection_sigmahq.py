"""The SigmaHQ corpus (rules nobody on the team wrote): every file loads or is reported, and a
sample of its rules gives the same matches streaming, in memory and in SQLite (tests/es adds
Elasticsearch on the same sample).

The corpus is read from ``../shared/sigmahq`` beside the repository (``SHUWEI_SIGMA_CORPUS``
overrides); without it these tests skip, except under CI=true where it is always present.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from bench.soc.windows_events import generate
from soc.detection import RulePack, StreamingDetector, hunt

REPO = Path(__file__).resolve().parents[2]
CORPUS = Path(os.environ.get("SHUWEI_SIGMA_CORPUS") or REPO.parent / "shared" / "sigmahq")


@pytest.fixture(scope="module")
def corpus() -> Path:
    if not CORPUS.is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CORPUS}: the SigmaHQ corpus is missing under CI")
        pytest.skip(f"{CORPUS}: SigmaHQ corpus not present (set SHUWEI_SIGMA_CORPUS)")
    return CORPUS


@pytest.fixture(scope="module")
def pack(corpus: Path) -> RulePack:
    return RulePack.load(corpus)


def test_every_file_loads_or_is_reported(corpus: Path, pack: RulePack) -> None:
    files = {str(p) for p in corpus.rglob("*") if p.suffix in (".yml", ".yaml") and p.is_file()}
    loaded = set(pack.paths.values())
    reported = {e.path for e in pack.errors}
    assert files == loaded | reported
    assert all(e.reason for e in pack.errors)
    assert len(pack.rules) > 0.95 * len(files)


def test_long_value_list_rule_runs(pack: RulePack) -> None:
    """The Shai-Hulud npm rule (1,000+ package names) that used to raise RecursionError.
    (Its ``Image|endswith: '\\node'`` is written with a backslash, as in the rule.)"""
    path = next(p for p in pack.paths.values()
                if p.endswith("proc_creation_lnx_mal_shai_hulud_malicious_npm_package_installation.yml"))
    single = RulePack.load(Path(path))
    assert single.errors == [] and len(single.rules) == 1
    events = [{"Image": "C:\\nodejs\\node", "CommandLine": "npm install zuper-sdk@1.0.57"},
              {"Image": "C:\\nodejs\\node", "CommandLine": "npm install zuper-sdk@1.0.58"},
              {"Image": "C:\\nodejs\\node", "CommandLine": "npm i 02-ECHO@0.0.7 --save"}]
    assert [m.line for m in hunt(single, events)] == [1, 3]


def sample_rules(corpus: Path, into: Path) -> RulePack:
    """Every 10th process-creation rule for Windows plus those on tools the generated events
    run (whoami, certutil, vssadmin, bitsadmin, comsvcs), copied into one folder and loaded."""
    folder = corpus / "rules" / "windows" / "process_creation"
    rules = set(sorted(folder.glob("*.yml"))[::10])
    for tool in ("whoami", "certutil", "vssadmin", "bitsadmin", "comsvcs"):
        rules.update(folder.glob(f"*{tool}*.yml"))
    for rule in rules:
        shutil.copy(rule, into / rule.name)
    return RulePack.load(into)


def test_sample_parity_streaming_memory_sqlite(tmp_path: Path, corpus: Path) -> None:
    pack = sample_rules(corpus, tmp_path)
    events = generate(600, seed=3, bad_share=0.5)
    memory = hunt(pack, events, backend="memory")
    sqlite = hunt(pack, events, backend="sqlite")
    det = StreamingDetector(pack)
    streamed = [m for i, e in enumerate(events, 1) for m in det.process(e, i)]
    shape = [m.to_hunt_json() for m in memory]
    assert shape == [m.to_hunt_json() for m in sqlite]
    assert shape == [m.to_hunt_json() for m in streamed]
    assert len({m.rule_id for m in memory}) >= 3  # the sample really fires


def test_the_document_cache_gives_the_same_pack(corpus: Path, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    def summary(p: RulePack) -> tuple[object, ...]:
        return ([(r.id, r.title, r.date, r.modified, r.level, r.logsource) for r in p.rules],
                [(c.id, c.title) for c in p.correlations], [f.id for f in p.filters],
                [str(e) for e in p.errors], p.anchors, p.extra_conditions)

    monkeypatch.setenv("SHUWEI_RULE_CACHE", "")
    plain = RulePack.load(corpus)
    monkeypatch.setenv("SHUWEI_RULE_CACHE", str(tmp_path))
    RulePack.load(corpus)
    cached = RulePack.load(corpus)
    assert summary(cached) == summary(plain)
    events = generate(400, seed=7)
    assert ([(m.rule_id, m.line) for m in hunt(cached, events)]
            == [(m.rule_id, m.line) for m in hunt(plain, events)])
