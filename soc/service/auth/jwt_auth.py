"""OIDC bearer tokens verified offline against a JWKS file with PyJWT (no network at run time)."""

from __future__ import annotations

import json
from pathlib import Path

import jwt

from classifier.settings import ConfigError
from soc.service.auth.principal import Principal
from soc.service.config import JwtOptions


class JwtVerifier:
    def __init__(self, options: JwtOptions) -> None:
        if options.jwks_file is None:
            raise ValueError("no jwks_file configured")
        self.options = options
        try:
            self.jwks = jwt.PyJWKSet.from_dict(json.loads(Path(options.jwks_file).read_text(encoding="utf-8")))
        except (OSError, ValueError, jwt.PyJWTError) as exc:
            raise ConfigError(f"{options.jwks_file}: cannot load the JWKS file: {exc}") from None

    def verify(self, token: str) -> Principal:
        """Raise ``jwt.PyJWTError`` (or ``ValueError``) unless the token is valid and carries a role."""
        header = jwt.get_unverified_header(token)
        kid = header.get("kid")
        keys = [k for k in self.jwks.keys if kid is None or k.key_id == kid]
        if not keys:
            raise jwt.InvalidKeyError("no key in the JWKS file matches the token's kid")
        claims = jwt.decode(token, keys[0], algorithms=self.options.algorithms, audience=self.options.audience,
                            issuer=self.options.issuer,
                            options={"require": ["exp", "sub"], "verify_aud": self.options.audience is not None})
        role = claims.get(self.options.role_claim)
        if not isinstance(role, str):
            raise ValueError(f"token has no '{self.options.role_claim}' claim")
        datasets = claims.get(self.options.datasets_claim)
        grants = claims.get(self.options.grants_claim) or []
        return Principal(subject=str(claims["sub"]), role=role,
                         datasets=frozenset(map(str, datasets)) if isinstance(datasets, list) else None,
                         grants=frozenset(map(str, grants)) if isinstance(grants, list) else frozenset())
