"""The shipped rule pack: every rule's positive and negative events, on both hunt backends,
and SigmaHQ validation with sigma-cli."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from soc.detection import RulePack, hunt
from soc.detection.pack import rule_key

PACK = Path(__file__).resolve().parents[2] / "policies" / "sigma"
RULE_FILES = sorted(PACK.glob("*.yml"))


@pytest.fixture(scope="module")
def pack() -> RulePack:
    return RulePack.load(PACK)


def test_pack_loads_cleanly_with_25_plus_rules(pack: RulePack) -> None:
    assert pack.errors == []
    assert len(pack.rules) + len(pack.correlations) >= 25
    assert len(pack.correlations) >= 8


def _cases() -> list[tuple[str, str, int]]:
    out = []
    for file in RULE_FILES:
        cases = json.loads((PACK / "tests" / f"{file.stem}.json").read_text(encoding="utf-8"))
        assert cases["match"] and cases["no_match"], file.stem
        for kind in ("match", "no_match"):
            out += [(file.stem, kind, i) for i in range(len(cases[kind]))]
    return out


@pytest.mark.parametrize("backend", ["memory", "sqlite"])
@pytest.mark.parametrize(("stem", "kind", "index"), _cases())
def test_rule_fixture(pack: RulePack, stem: str, kind: str, index: int, backend: str) -> None:
    """A base rule is tested alone (so correlation-only rules are visible); a correlation
    rule inside the whole pack."""
    file = PACK / f"{stem}.yml"
    events = json.loads((PACK / "tests" / f"{stem}.json").read_text(encoding="utf-8"))[kind][index]
    single = RulePack.load(file)
    if single.errors:  # a correlation rule: its base rules live in other files
        subject = pack
        key = next(k for k, p in pack.paths.items() if Path(p).stem == stem)
    else:
        subject = single
        key = rule_key((single.rules + single.correlations)[0])
    rule = subject.by_key()[key]
    hidden, rule._output = not rule._output, True  # building blocks are checked like the rest
    try:
        hits = [m for m in hunt(subject, events, backend=backend) if m.rule_id == key]
    finally:
        rule._output = not hidden
    if kind == "match":
        assert hits, f"{stem}: expected a match for case {index}"
    else:
        assert not hits, f"{stem}: unexpected match for case {index}: {hits[0]}"


def test_sigma_cli_check_passes() -> None:
    """sigma-cli with every validator except the two that download MITRE data at run time."""
    sigma = Path(sys.executable).parent / "sigma"
    proc = subprocess.run(
        [str(sigma), "check", "--fail-on-issues", "--fail-on-error",
         "--exclude", "attacktag", "--exclude", "d3_fendtag", str(PACK)],
        capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Found 0 errors, 0 condition errors and 0 issues" in proc.stdout
