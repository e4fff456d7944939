"""``shuwei soc rules check``: pySigma's SigmaHQ validators plus our own load check."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sigma.plugins import InstalledSigmaPlugins
from sigma.processing.pipeline import ProcessingPipeline
from sigma.validation import SigmaValidator

from soc.detection.compiler import Placeholders
from soc.detection.pack import RulePack, _rule_files, rule_key
from soc.detection.streaming import StreamingDetector

# Validators left out, and why: both load the MITRE ATT&CK / D3FEND catalogues from the network
# on first use, which this product never does at run time. Tag *format* (tag_format,
# namespace_tag) is still checked.
EXCLUDED_VALIDATORS = frozenset({"attacktag", "d3_fendtag"})


def check_rules(path: str | Path, placeholders: Placeholders | None = None,
                pipeline: ProcessingPipeline | None = None) -> list[dict[str, Any]]:
    """Every problem found: load/evaluation errors (severity error) and validator issues."""
    pack = RulePack.load(path, pipeline=pipeline)
    problems = [{"path": e.path, "rule_id": e.rule_id, "severity": "error", "check": "load",
                 "message": e.reason} for e in pack.errors]
    # A file that yields neither a rule nor an error (empty, only comments, a stray ---) checks nothing:
    # passing it would read as "these rules are fine".
    seen = {e.path for e in pack.errors} | set(pack.paths.values())
    root = Path(path)
    files = _rule_files(root) if root.exists() else []
    problems += [{"path": str(f), "rule_id": None, "severity": "error", "check": "empty",
                  "message": "no Sigma rules in this file"} for f in files if str(f) not in seen]
    if root.is_dir() and not files:
        problems.append({"path": str(root), "rule_id": None, "severity": "error", "check": "empty",
                         "message": "no rule files (.yml, .yaml) in this directory"})
    if placeholders is not None:
        for e in StreamingDetector(pack, placeholders).errors:
            problems.append({"path": e.path, "rule_id": e.rule_id, "severity": "error",
                             "check": "placeholders", "message": e.reason})
    validators = InstalledSigmaPlugins.autodiscover().validators
    # pySigma annotates its validator registry as instances (they are classes) and
    # validate_rules as detection rules only (it validates correlations too).
    validator = SigmaValidator([v for name, v in validators.items()  # type: ignore[misc]
                                if name not in EXCLUDED_VALIDATORS])
    for issue in validator.validate_rules(iter([*pack.rules, *pack.correlations])):  # type: ignore[list-item]
        for rule in issue.rules:
            extra = {f: getattr(issue, f) for f in getattr(issue, "__dataclass_fields__", {})
                     if f not in ("rules", "severity", "description")}
            detail = " ".join(f"{k}={v}" for k, v in extra.items() if v)
            problems.append({
                "path": pack.paths.get(rule_key(rule), str(getattr(rule.source, "path", "") or "")),
                "rule_id": rule_key(rule), "severity": issue.severity.name.lower(),
                "check": type(issue).__name__,
                "message": issue.description + (f" ({detail})" if detail else ""),
            })
    return problems
