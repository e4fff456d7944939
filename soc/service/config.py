"""Options of the ``service`` section of the configuration file, validated once at start-up."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from classifier.errors import validation_error
from classifier.settings import ConfigError, Settings


class RateLimit(BaseModel):
    """Token bucket per API key: ``rate`` requests per second, bursts up to ``burst``; 0 = off."""

    model_config = ConfigDict(extra="forbid")
    rate: float = Field(default=0, ge=0)
    burst: int = Field(default=0, ge=0)


class JwtOptions(BaseModel):
    """OIDC bearer tokens, verified offline against a JWKS file (no network at run time)."""

    model_config = ConfigDict(extra="forbid")
    jwks_file: Path | None = None
    issuer: str | None = None
    audience: str | None = None
    algorithms: list[str] = ["RS256", "ES256"]
    role_claim: str = "shuwei_role"
    datasets_claim: str = "shuwei_datasets"
    grants_claim: str = "shuwei_grants"


class ConsoleOptions(BaseModel):
    """The web console under /console (sessions are server-side rows; the cookie names one)."""

    model_config = ConfigDict(extra="forbid")
    session_minutes: int = Field(default=480, gt=0, description="a session ends this long after sign-in")
    page_size: int = Field(default=100, gt=0, le=1000, description="alerts per page of the list")


class ServiceSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    readable_roots: list[Path] = Field(default_factory=list, description="scan sources must lie below one")
    sql_allowlist: list[str] = Field(default_factory=list, description="SQLAlchemy URLs that may be scanned")
    max_body_bytes: int = Field(default=64 * 1024 * 1024, gt=0)
    mask_max_records: int = Field(default=50_000, gt=0)
    audit_max_events: int = Field(default=10_000, gt=0)
    audit_max_bytes: int = Field(default=10 * 1024 * 1024, gt=0)
    catalog_cache_seconds: float = Field(default=2.0, ge=0, description="how long /v1/mask reuses "
                                         "catalog grades before re-reading them")
    rate_limit: RateLimit = Field(default_factory=RateLimit)
    jwt: JwtOptions = Field(default_factory=JwtOptions)
    roles_file: Path | None = Field(default=None, description="default: <policy_dir>/roles.yaml")
    console: ConsoleOptions = Field(default_factory=ConsoleOptions)

    @classmethod
    def from_settings(cls, settings: Settings) -> "ServiceSettings":
        try:
            return cls.model_validate(settings.section("service"))
        except ValidationError as exc:
            field, msg = validation_error(exc)
            where = settings.source_file or "configuration"
            raise ConfigError(f"{where}: field 'service.{field}': {msg}") from None
