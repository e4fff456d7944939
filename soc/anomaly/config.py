"""policies/anomaly.yaml: which behavioural detectors run beside Sigma, and their thresholds."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from classifier.errors import validation_error
from classifier.settings import ConfigError


class _Detector(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    level: str = "medium"
    title: str = ""
    tags: list[str] = Field(default_factory=list)


class VolumeConfig(_Detector):
    """Rows or bytes in one hour far above the user's own mean of active hours."""

    title: str = "Data volume far above the user's own hourly baseline"
    level: str = "high"
    metrics: list[str] = Field(default=["rows", "bytes"])
    factor: float = Field(default=10.0, gt=1)
    min_baseline_hours: int = Field(default=8, ge=1, description="active hours of history needed")
    floor: dict[str, int] = Field(default_factory=lambda: {"rows": 10_000, "bytes": 50_000_000},
                                  description="never alert below these hourly totals")


class FirstL4Config(_Detector):
    """A user touches an L4 (敏感) dataset they never touched before."""

    title: str = "First access by the user to an L4 dataset"
    level: str = "medium"
    min_history_days: float = Field(default=1.0, ge=0, description="users newer than this are learning")


class DormantConfig(_Detector):
    """An account silent for ``dormant_days`` is active again."""

    title: str = "Dormant account back in use"
    level: str = "medium"
    dormant_days: float = Field(default=30.0, gt=0)


class AnomalyConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    volume: VolumeConfig = Field(default_factory=VolumeConfig)
    first_l4_access: FirstL4Config = Field(default_factory=FirstL4Config)
    dormant_account: DormantConfig = Field(default_factory=DormantConfig)


def load_anomaly_config(path: Path) -> AnomalyConfig:
    """The file's settings; defaults when the file does not exist."""
    if not path.is_file():
        return AnomalyConfig()
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return AnomalyConfig.model_validate(raw)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: invalid YAML: {exc}") from None
    except ValidationError as exc:
        field, msg = validation_error(exc)
        raise ConfigError(f"{path}: {field}: {msg}") from None
