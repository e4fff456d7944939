"""The role matrix (``policies/roles.yaml``): which role may use which permission."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from classifier.errors import validation_error
from classifier.settings import ConfigError

ROLES = ("exchange_platform", "data_owner", "soc_analyst", "compliance_officer", "admin")


class _RolesFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: int
    permissions: dict[str, str]
    roles: dict[str, list[str]]
    grant_required: list[str] = []
    dataset_scoped: list[str] = []

    @model_validator(mode="after")
    def _known_names(self) -> "_RolesFile":
        for role, perms in self.roles.items():
            for perm in perms:
                if perm not in self.permissions:
                    raise ValueError(f"role '{role}' lists unknown permission '{perm}'")
        for perm in self.grant_required:
            if perm not in self.permissions:
                raise ValueError(f"grant_required lists unknown permission '{perm}'")
        for role in self.dataset_scoped:
            if role not in self.roles:
                raise ValueError(f"dataset_scoped lists unknown role '{role}'")
        return self


@dataclass(frozen=True)
class RoleMatrix:
    permissions: dict[str, str]
    roles: dict[str, frozenset[str]]
    grant_required: frozenset[str]
    dataset_scoped: frozenset[str]

    @classmethod
    def load(cls, path: Path) -> "RoleMatrix":
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
            parsed = _RolesFile.model_validate(raw)
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read the role matrix: {exc.strerror}") from None
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: invalid YAML: {exc}") from None
        except ValidationError as exc:
            field, msg = validation_error(exc)
            raise ConfigError(f"{path}: field '{field or '(file)'}': {msg}") from None
        return cls(parsed.permissions, {r: frozenset(p) for r, p in parsed.roles.items()},
                   frozenset(parsed.grant_required), frozenset(parsed.dataset_scoped))

    def allows(self, role: str, permission: str, grants: frozenset[str]) -> bool:
        if permission not in self.roles.get(role, frozenset()):
            return False
        return permission not in self.grant_required or permission in grants
