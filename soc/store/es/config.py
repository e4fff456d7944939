"""The ``es`` section of the configuration, and the one place a client is built from it.

``SHUWEI_ES_URL`` (or ``es.url`` / ``SHUWEI_ES__URL``) names the cluster. Credentials are
``SecretStr`` so they never print in reprs, logs or error messages.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from elasticsearch import Elasticsearch
from elasticsearch.serializer import OrjsonSerializer
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from classifier.errors import validation_error
from classifier.settings import ConfigError, Settings


class EsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = "http://127.0.0.1:9200"
    username: str | None = None
    password: SecretStr | None = None
    api_key: SecretStr | None = Field(default=None, description="base64 'id:key' as Kibana shows it")
    ca_file: Path | None = Field(default=None, description="PEM CA bundle that signed the cluster's TLS")
    verify_certs: bool = True
    index_prefix: str = Field(default="shuwei", pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    shards: int = Field(default=1, ge=1, description="primary shards per daily event index")
    replicas: int = Field(default=1, ge=0)
    refresh_interval: str = "1s"
    ilm_policy: str | None = Field(default=None, description="ILM policy set on new daily indices")
    retention_days: int | None = Field(default=None, ge=1, description="default: soc.retention_days")
    batch_size: int = Field(default=5000, ge=1, description="events per bulk request")
    workers: int = Field(default=2, ge=1, description="bulk requests in flight at once")
    max_retries: int = Field(default=5, ge=0, description="per bulk request, on 429/5xx/connection errors")
    backoff_seconds: float = Field(default=0.5, gt=0, description="first retry delay; doubles each time")
    backoff_max_seconds: float = Field(default=10.0, gt=0)
    request_timeout: float = Field(default=60.0, gt=0)
    spool: Path | None = Field(default=None, description="default <data_dir>/es-spool.db")


def es_config(settings: Settings) -> EsConfig:
    """The validated ``es`` section; ``SHUWEI_ES_URL`` wins over ``es.url``."""
    raw = dict(settings.section("es"))
    if env_url := (settings.model_extra or {}).get("es_url"):
        raw["url"] = env_url
    try:
        return EsConfig.model_validate(raw)
    except ValidationError as exc:
        field, msg = validation_error(exc)
        raise ConfigError(f"{settings.source_file or 'config'}: es.{field}: {msg}") from None


def make_client(cfg: EsConfig) -> Elasticsearch:
    """A client with the configured auth and TLS; transport retries are ours (bulk.py)."""
    # orjson: hunting parses every candidate's JSON; the stdlib decoder was a third of hunt time.
    kwargs: dict[str, Any] = {"request_timeout": cfg.request_timeout, "max_retries": 0,
                                 "serializer": OrjsonSerializer()}
    if cfg.api_key is not None:
        kwargs["api_key"] = cfg.api_key.get_secret_value()
    elif cfg.username is not None:
        password = cfg.password.get_secret_value() if cfg.password else ""
        kwargs["basic_auth"] = (cfg.username, password)
    if cfg.url.startswith("https"):
        kwargs["verify_certs"] = cfg.verify_certs
        if cfg.ca_file is not None:
            kwargs["ca_certs"] = str(cfg.ca_file)
    return Elasticsearch(cfg.url, **kwargs)
