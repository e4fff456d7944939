"""The control map: the 测评项 an assessor checks, and the evidence collectors behind each."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from classifier.settings import ConfigError

ITEM_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")  # also the item's folder name in a pack


@dataclass(frozen=True)
class Control:
    id: str
    standard: str
    clause: str
    title: str
    evidence: tuple[str, ...]
    requirement: str = ""
    assessment: str = ""  # GB/T 28448-2019 测评单元 id(s), where named


@dataclass(frozen=True)
class ControlMap:
    controls: tuple[Control, ...]
    level: int = 3

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
        if not ITEM_ID.match(str(item["id"])):
            raise ConfigError(f"{where} ({item['id']}): id must be 1-40 letters, digits, '.', '_', '-'")
        unknown = [e for e in item["evidence"] if e not in known]
        if unknown:
            raise ConfigError(f"{where} ({item['id']}): unknown evidence {', '.join(unknown)}; "
                              f"known: {', '.join(sorted(known))}")
        controls.append(Control(str(item["id"]), str(item["standard"]), str(item["clause"]),
                                str(item["title"]), tuple(item["evidence"]),
                                str(item.get("requirement") or ""), str(item.get("assessment") or "")))
    ids = [c.id for c in controls]
    if dup := sorted({i for i in ids if ids.count(i) > 1}):
        raise ConfigError(f"{path}: control id(s) used twice: {', '.join(dup)}")
    level = doc.get("level", 3)
    if not isinstance(level, int) or isinstance(level, bool):
        raise ConfigError(f"{path}: 'level' must be an integer (the protection level of the 测评项)")
    return ControlMap(tuple(controls), level)
