"""Options of the ``soc`` section of the configuration file (validated with pydantic)."""

from __future__ import annotations

from datetime import date, time
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from classifier.errors import validation_error
from classifier.settings import ConfigError, Settings


class WorkingHours(BaseModel):
    """Outside these the ``off_hours`` enrichment is true (local time of ``timezone``)."""

    model_config = ConfigDict(extra="forbid")

    start: time = time(9, 0)
    end: time = time(18, 0)
    days: list[int] = Field(default=[1, 2, 3, 4, 5], description="ISO weekdays, 1 = Monday")
    holidays: list[date] = Field(default_factory=list, description="whole days off (法定节假日)")


class Hooks(BaseModel):
    """Exchange-platform webhooks playbooks call (suspend a user, revoke a token)."""

    model_config = ConfigDict(extra="allow")

    suspend_user: str | None = None
    revoke_token: str | None = None


class Smtp(BaseModel):
    model_config = ConfigDict(extra="forbid")

    host: str = "localhost"
    port: int = 25
    sender: str = "shuwei@localhost"
    timeout: float = 10.0


class SocConfig(BaseModel):
    model_config = ConfigDict(extra="allow")

    store: Literal["sqlite", "elasticsearch"] = "sqlite"
    retention_days: int = Field(default=180, ge=1, description="Cybersecurity Law art. 21: >= 6 months")
    timezone: str | None = Field(default=None, description="defaults to the suite's timezone")
    working_hours: WorkingHours = Field(default_factory=WorkingHours)
    rules: Path | None = Field(default=None, description="Sigma rule dir; default <policy_dir>/sigma")
    anomaly: Path | None = Field(default=None, description="default <policy_dir>/anomaly.yaml")
    alert_window_minutes: float = Field(default=60, gt=0, description="grouping window of alerts")
    placeholders: dict[str, list[str]] = Field(default_factory=dict, description="Sigma %expand%")
    pipelines: list[str] = Field(default_factory=list, description="pySigma processing pipelines "
                                 "(installed names such as sysmon, windows-audit, or YAML files) "
                                 "applied to rules hunted with `soc hunt`")
    hooks: Hooks = Field(default_factory=Hooks)
    smtp: Smtp = Field(default_factory=Smtp)
    playbook_retries: int = Field(default=3, ge=0)
    playbook_backoff_seconds: float = Field(default=0.5, ge=0)
    catalog_cache_seconds: float = Field(default=60, ge=0)
    anchors: Path | None = Field(default=None, description="directory of append-only anchor files "
                                 "(one per day) that every signed checkpoint is also written to")
    checkpoint_events: int = Field(default=10_000, ge=1, description="sign a checkpoint every N events")
    checkpoint_minutes: float = Field(default=5, gt=0, description="... or M minutes after the first "
                                      "unsigned event")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is not None:
            from zoneinfo import ZoneInfo

            try:
                ZoneInfo(value)
            except Exception:
                raise ValueError(f"unknown time zone {value!r}") from None
        return value


def soc_config(settings: Settings) -> SocConfig:
    """The validated ``soc`` section; a wrong option raises ConfigError naming it."""
    try:
        return SocConfig.model_validate(settings.section("soc"))
    except ValidationError as exc:
        field, msg = validation_error(exc)
        raise ConfigError(f"{settings.source_file or 'config'}: soc.{field}: {msg}") from None


def rules_dir(settings: Settings, cfg: SocConfig) -> Path:
    return cfg.rules or settings.policy_dir / "sigma"


def anomaly_file(settings: Settings, cfg: SocConfig) -> Path:
    return cfg.anomaly or settings.policy_dir / "anomaly.yaml"
