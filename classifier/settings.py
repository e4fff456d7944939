"""Suite-wide configuration: one YAML file plus ``SHUWEI_*`` environment variables.

Lives in ``classifier`` because it is the foundation every other package may import
(classifier → crypto → soc). Each area keeps its own options under a section of the YAML
file and validates it with its own pydantic model via :meth:`Settings.section`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError

from classifier.errors import validation_error

REPO_ROOT = Path(__file__).resolve().parent.parent
CONFIG_ENV = "SHUWEI_CONFIG"
DEFAULT_CONFIG_FILE = Path("shuwei.yaml")
_PATH_KEYS = ("data_dir", "policy_dir", "playbook_dir")


class ConfigError(ValueError):
    """A configuration file or variable is wrong; the message names which."""


class Settings(BaseModel):
    """Core settings shared by every area."""

    model_config = ConfigDict(extra="allow")

    data_dir: Path = Field(default=Path("var"), description="embedded SQLite, keyring, audit outbox")
    policy_dir: Path = Field(default=REPO_ROOT / "policies")
    playbook_dir: Path = Field(default=REPO_ROOT / "playbooks")
    timezone: str = "Asia/Shanghai"
    source_file: Path | None = Field(default=None, exclude=True)
    _data_dir_origin: str = PrivateAttr(default="default ./var of the current directory")

    def section(self, name: str) -> dict[str, Any]:
        """Raw options of one area's section (``classify``, ``crypto``, ``soc``, ``service``, ``es``)."""
        value = (self.model_extra or {}).get(name) or {}
        if not isinstance(value, dict):
            raise ConfigError(f"{self.source_file or 'config'}: section '{name}' must be a mapping")
        return value

    def ensure_data_dir(self) -> Path:
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(
                f"data directory {self.data_dir} ({self.data_dir_origin()}): cannot create it: "
                f"{exc.strerror or exc}; set SHUWEI_DATA_DIR or data_dir to a writable directory"
            ) from None
        note_data_dir(self.data_dir)
        return self.data_dir

    def data_dir_origin(self) -> str:
        """Where ``data_dir`` came from, for the line that tells a user where their data goes."""
        return self._data_dir_origin


_data_dir_listener: Callable[[Path], None] | None = None
_noted: set[Path] = set()


def on_data_dir(listener: Callable[[Path], None] | None) -> None:
    """Call ``listener`` once per data directory the process opens (the CLI prints where it is)."""
    global _data_dir_listener
    _data_dir_listener = listener
    _noted.clear()


def note_data_dir(path: Path) -> None:
    """Every opener of the data directory calls this; the library itself prints nothing."""
    path = Path(path).absolute()
    if _data_dir_listener is not None and path not in _noted:
        _noted.add(path)
        _data_dir_listener(path)


def find_config_file(start: Path | None = None) -> Path | None:
    """``shuwei.yaml`` in the current directory or the nearest parent (the way git finds .git)."""
    here = (start or Path.cwd()).absolute()
    for folder in (here, *here.parents):
        candidate = folder / DEFAULT_CONFIG_FILE
        try:
            if candidate.is_file():
                return candidate
        except OSError:  # a parent this user may not search: nothing to find there
            continue
    return None


def _env_overrides(environ: dict[str, str]) -> dict[str, Any]:
    """``SHUWEI_DATA_DIR=x`` sets ``data_dir``; ``SHUWEI_SOC__RETENTION_DAYS=90`` sets ``soc.retention_days``."""
    out: dict[str, Any] = {}
    for key, value in environ.items():
        if not key.startswith("SHUWEI_") or key == CONFIG_ENV:
            continue
        path = key[len("SHUWEI_"):].lower().split("__")
        node = out
        for part in path[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                break
        else:
            node[path[-1]] = value
    return out


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def load_settings(config_file: Path | None = None, environ: dict[str, str] | None = None) -> Settings:
    """Read the YAML file (``SHUWEI_CONFIG``, else ``shuwei.yaml`` here or in a parent), then the
    environment. Relative paths in the file are relative to the file, in the environment to the
    current directory; ``data_dir`` comes out absolute, so it means one place wherever it is used.
    """
    environ = dict(os.environ if environ is None else environ)
    path = config_file or (Path(environ[CONFIG_ENV]) if environ.get(CONFIG_ENV) else None)
    if path is None:
        path = find_config_file()
    raw: dict[str, Any] = {}
    if path is not None:
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read configuration: {exc.strerror}") from None
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f"{path}:{mark.line + 1}" if mark else str(path)
            raise ConfigError(f"{where}: invalid YAML: {getattr(exc, 'problem', exc)}") from None
        if not isinstance(loaded, dict):
            raise ConfigError(f"{path}: the configuration must be a mapping")
        raw = {k: (str(path.absolute().parent / v) if k in _PATH_KEYS and isinstance(v, str)
                   and not Path(v).is_absolute() else v) for k, v in loaded.items()}
    raw = _merge(raw, _env_overrides(environ))
    try:
        settings = Settings.model_validate(raw)
    except ValidationError as exc:
        field, msg = validation_error(exc)
        raise ConfigError(f"{path or 'environment'}: field '{field}': {msg}") from None
    settings.source_file = path
    settings.data_dir = settings.data_dir.absolute()
    if environ.get("SHUWEI_DATA_DIR"):
        settings._data_dir_origin = "SHUWEI_DATA_DIR"
    elif "data_dir" in raw:
        settings._data_dir_origin = str(path)
    return settings


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Process-wide settings; tests call ``get_settings.cache_clear()`` after changing the environment."""
    return load_settings()
