"""The control map: clauses of the standards an auditor checks, and the evidence behind each."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from classifier.settings import ConfigError


@dataclass(frozen=True)
class Control:
    id: str
    standard: str
    clause: str
    title: str
    evidence: tuple[str, ...]


@dataclass(frozen=True)
class ControlMap:
    controls: tuple[Control, ...]

    def collectors(self) -> list[str]:
        """Evidence collectors the map needs, in first-use order."""
        return list(dict.fromkeys(e for c in self.controls for e in c.evidence))


def load_controls(path: Path, known: set[str]) -> ControlMap:
    """Read ``policies/controls.yaml``; an unknown collector or missing key names the control."""
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read control map: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ConfigError(f"{path}{f':{mark.line + 1}' if mark else ''}: invalid YAML") from None
    items = doc.get("controls") if isinstance(doc, dict) else None
    if not isinstance(items, list) or not items:
        raise ConfigError(f"{path}: 'controls' must be a non-empty list")
    controls = []
    for n, item in enumerate(items, 1):
        where = f"{path}: control #{n}"
        if not isinstance(item, dict):
            raise ConfigError(f"{where}: must be a mapping")
        missing = [k for k in ("id", "standard", "clause", "title", "evidence") if not item.get(k)]
        if missing:
            raise ConfigError(f"{where} ({item.get('id', '?')}): missing {', '.join(missing)}")
        unknown = [e for e in item["evidence"] if e not in known]
        if unknown:
            raise ConfigError(f"{where} ({item['id']}): unknown evidence {', '.join(unknown)}; "
                              f"known: {', '.join(sorted(known))}")
        controls.append(Control(str(item["id"]), str(item["standard"]), str(item["clause"]),
                                str(item["title"]), tuple(item["evidence"])))
    return ControlMap(tuple(controls))
