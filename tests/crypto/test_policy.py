"""Policy loading: the shipped policy is valid; every error names file, line and rule."""

from __future__ import annotations

from pathlib import Path

import pytest

from classifier.settings import Settings
from crypto.engine import MaskingEngine, policy_path
from crypto.errors import PolicyError
from crypto.policy import MaskingPolicy

BASE = """\
roles:
  analyst: {description: a}
masks:
  CN_MOBILE: {strategy: mask_middle, params: {keep_first: 3, keep_last: 4}}
grade_masks:
  L3: {strategy: redact}
  L4: {strategy: redact}
"""


def load(tmp_path: Path, text: str) -> MaskingPolicy:
    path = tmp_path / "masking.yaml"
    path.write_text(text, encoding="utf-8")
    return MaskingPolicy.load(path)


def test_shipped_policy_loads(settings: Settings) -> None:
    policy = MaskingEngine.from_settings(settings).policy
    assert policy.file == str(policy_path(settings))
    assert {"analyst", "case_officer"} <= set(policy.roles) and policy.k >= 2


@pytest.mark.parametrize("extra,line,rule,message", [
    ("rules:\n  - id: r1\n    match: {roles: [analyst]}\n    strategy: scramble\n", 11, "r1", "unknown strategy 'scramble'"),
    ("rules:\n  - id: r2\n    strategy: mask_middle\n    params:\n      keep_first: -1\n", 12, "r2", "parameter 'keep_first'"),
    ("rules:\n  - id: r3\n    strategy: mask_middle\n    params: {colour: red}\n", 11, "r3", "parameter 'colour'"),
    ("rules:\n  - id: r4\n    match:\n      roles: [analyst, ghost]\n    strategy: keep\n", 11, "r4", "unknown role 'ghost'"),
    ("rules:\n  - id: r5\n    match: {entities: [CN_PHONE]}\n    strategy: keep\n", 10, "r5", "unknown entity 'CN_PHONE'"),
    ("rules:\n  - id: r6\n    matches: {}\n    strategy: keep\n", 10, "r6", "unknown key 'matches'"),
    ("approvals:\n  - id: A1\n    datasets: [x]\n", 9, "A1", "must list the fields"),
    ("approvals:\n  - id: A2\n    fields: [a]\n    expires: soon\n", 11, "A2", "expires must be a date"),
])
def test_errors_name_file_line_and_rule(tmp_path: Path, extra: str, line: int, rule: str, message: str) -> None:
    with pytest.raises(PolicyError) as err:
        load(tmp_path, BASE + extra)
    e = err.value
    assert (e.line, e.rule) == (line, rule), str(e)
    assert message in str(e) and str(e).startswith(f"{tmp_path / 'masking.yaml'}:{line}: ")


def test_default_deny_needs_both_grade_masks_and_no_keep(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="grade_masks must give a mask for L4"):
        load(tmp_path, BASE.replace("  L4: {strategy: redact}\n", ""))
    with pytest.raises(PolicyError, match="cannot be 'keep'") as err:
        load(tmp_path, BASE.replace("CN_MOBILE: {strategy: mask_middle, params: {keep_first: 3, keep_last: 4}}",
                                    "CN_MOBILE: {strategy: keep}"))
    assert err.value.line == 4


def test_optional_sections_may_be_absent(tmp_path: Path) -> None:
    policy = load(tmp_path, BASE)
    assert (policy.k, policy.rules, policy.approvals, policy.qi_fields) == (1, [], {}, frozenset())


def test_yaml_syntax_error_names_line(tmp_path: Path) -> None:
    with pytest.raises(PolicyError) as err:
        load(tmp_path, BASE + "rules: [\n  {id: x\n")
    assert err.value.line is not None and "invalid YAML" in str(err.value)


def test_approvals_file_from_settings(tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    extra = tmp_path / "approvals.yaml"
    extra.write_text("approvals:\n  - id: AP-X\n    fields: [姓名]\n    roles: [analyst]\n", encoding="utf-8")
    monkeypatch.setenv("SHUWEI_CRYPTO__APPROVALS_FILE", str(extra))
    from classifier.settings import get_settings
    shipped = set(MaskingEngine.from_settings(settings).policy.approvals)
    get_settings.cache_clear()
    policy = MaskingEngine.from_settings(get_settings()).policy
    assert set(policy.approvals) == shipped | {"AP-X"}
