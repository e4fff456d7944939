"""Playbook files: validated with pydantic so a typo names its file and field at load time."""

from __future__ import annotations

from fnmatch import fnmatchcase
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from classifier.errors import validation_error
from soc.alerts.severity import SEVERITIES, Severity


class PlaybookError(ValueError):
    """A playbook file is wrong; the message names the file and field."""


class _Step(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = None


class WebhookStep(_Step):
    type: Literal["webhook"]
    url: str
    headers: dict[str, str] = Field(default_factory=dict)


class MailStep(_Step):
    type: Literal["mail"]
    to: list[str] = Field(min_length=1)
    subject: str = "[Shuwei] {severity} alert: {rule_title}"


class LogStep(_Step):
    type: Literal["log"]
    message: str = "{severity} alert {id}: {rule_title} ({count} events)"


class HookStep(_Step):
    """An exchange-platform hook configured under ``soc.hooks`` (URLs stay out of playbooks)."""

    type: Literal["suspend_user", "revoke_token"]


class RaiseSeverityStep(_Step):
    type: Literal["raise_severity"]
    to: Severity | None = None


class AssignStep(_Step):
    type: Literal["assign"]
    to: str = Field(min_length=1)


Step = Annotated[Union[WebhookStep, MailStep, LogStep, HookStep, RaiseSeverityStep, AssignStep],
                 Field(discriminator="type")]


class MatchSpec(BaseModel):
    """Every given criterion must hold; within a list any entry may (glob patterns allowed)."""

    model_config = ConfigDict(extra="forbid")

    rules: list[str] = Field(default_factory=list, description="rule ids or titles")
    tags: list[str] = Field(default_factory=list)
    min_severity: Severity | None = None


class Playbook(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    description: str = ""
    enabled: bool = True
    match: MatchSpec
    steps: list[Step] = Field(min_length=1)
    source: str = Field(default="", exclude=True)

    def matches(self, alert: dict[str, Any]) -> bool:
        m = self.match
        if not self.enabled:
            return False
        if m.rules and not any(fnmatchcase(alert["rule_id"], p) or fnmatchcase(alert["rule_title"], p)
                               for p in m.rules):
            return False
        tags = alert.get("tags") or []
        if m.tags and not any(fnmatchcase(t, p) for p in m.tags for t in tags):
            return False
        if m.min_severity and SEVERITIES.index(alert["severity"]) < SEVERITIES.index(m.min_severity):
            return False
        return True


def load_playbooks(directory: Path) -> list[Playbook]:
    """Every ``*.yaml``/``*.yml`` in ``directory``; a missing directory means no playbooks."""
    out: list[Playbook] = []
    if not directory.is_dir():
        return out
    for path in sorted(p for p in directory.iterdir() if p.suffix in (".yaml", ".yml")):
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f"{path}:{mark.line + 1}" if mark else str(path)
            raise PlaybookError(f"{where}: invalid YAML: {getattr(exc, 'problem', exc)}") from None
        try:
            pb = Playbook.model_validate(raw)
        except ValidationError as exc:
            field, msg = validation_error(exc)
            raise PlaybookError(f"{path}: {field}: {msg}") from None
        pb.source = str(path)
        out.append(pb)
    ids = [p.id for p in out]
    if dup := {i for i in ids if ids.count(i) > 1}:
        raise PlaybookError(f"{directory}: duplicate playbook id(s): {', '.join(sorted(dup))}")
    return out
