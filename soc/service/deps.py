"""FastAPI dependencies: authenticate the bearer credential, authorize one permission, rate-limit."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from soc.service.auth.keys import ApiKey
from soc.service.auth.principal import Principal
from soc.service.errors import ApiError
from soc.service.ratelimit import retry_after_header
from soc.service.state import ServiceState

_bearer = HTTPBearer(auto_error=False, description="An API key (`shuwei apikey create`) or an OIDC JWT")
_CHALLENGE = {"WWW-Authenticate": "Bearer"}
# Audit-event action per permission (docs/spec/audit-event.md); everything else is ``api_call``.
AUDIT_ACTIONS = {"mask": "mask", "decrypt": "decrypt", "detokenize": "decrypt",
                 "datasets:review": "classify_review"}


def get_state(request: Request) -> ServiceState:
    return request.app.state.shuwei


def principal_for_token(state: ServiceState, token: str) -> Principal:
    """The caller an API key or OIDC token names (raises a 401 ApiError otherwise); the API's bearer
    header and the console's sign-in form both come through here."""
    principal: Principal | None = None
    if token.count(".") == 2 and state.jwt is not None:
        try:
            principal = state.jwt.verify(token)
        except (jwt.PyJWTError, ValueError) as exc:
            raise ApiError(401, f"invalid token: {exc}", field="Authorization", headers=_CHALLENGE) from None
    else:
        key = state.keys.verify(token)
        if key is not None:
            principal = principal_for_key(key)
    if principal is None:
        raise ApiError(401, "invalid or revoked API key", field="Authorization", headers=_CHALLENGE)
    return scoped(state, principal)


def principal_for_key(key: ApiKey) -> Principal:
    return Principal(subject=key.name, role=key.role,
                     datasets=frozenset(key.datasets) if key.datasets is not None else None,
                     grants=frozenset(key.grants), key_id=key.key_id, rate=key.rate, burst=key.burst)


def scoped(state: ServiceState, principal: Principal) -> Principal:
    """A dataset-scoped role without listed datasets sees none (never all)."""
    if principal.role in state.roles.dataset_scoped and principal.datasets is None:
        return Principal(principal.subject, principal.role, frozenset(), principal.grants,
                         principal.key_id, principal.rate, principal.burst)
    return principal


def throttle(state: ServiceState, principal: Principal) -> None:
    """The per-key token bucket (429 when empty)."""
    limit = state.options.rate_limit
    wait = state.limiter.take(principal.limiter_id,
                              principal.rate if principal.rate is not None else limit.rate,
                              principal.burst if principal.burst is not None else limit.burst)
    if wait > 0:
        raise ApiError(429, "rate limit exceeded for this key", headers={"Retry-After": retry_after_header(wait)})


async def authenticate(request: Request,
                 creds: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> Principal:
    state = get_state(request)
    if creds is None or creds.scheme.lower() != "bearer" or not creds.credentials:
        raise ApiError(401, "missing credentials: send 'Authorization: Bearer <api key or token>'",
                       field="Authorization", headers=_CHALLENGE)
    principal = principal_for_token(state, creds.credentials)
    throttle(state, principal)
    request.state.principal = principal
    return principal


def refusal(request: Request, principal: Principal, permission: str) -> str | None:
    """Why ``principal`` may not use ``permission`` (the refusal audited), or None when it may."""
    roles = get_state(request).roles
    if roles.allows(principal.role, permission, principal.grants):
        return None
    if permission in roles.roles.get(principal.role, frozenset()):
        reason = f"role '{principal.role}' needs an explicit '{permission}' grant on its key"
    else:
        reason = f"role '{principal.role}' may not use '{permission}'"
    # A refused release is exactly what the SOC wants to see (e.g. repeated denied decrypts).
    get_state(request).record(AUDIT_ACTIONS.get(permission, "api_call"), principal, wait=False,
                              request_id=getattr(request.state, "request_id", None), result="denied",
                              extra={"endpoint": f"{request.method} {request.url.path}", "reason": reason})
    return reason


def require(permission: str) -> Callable[..., Awaitable[Principal] | Principal]:
    """Dependency factory: the caller must hold ``permission`` per policies/roles.yaml."""

    async def dependency(request: Request, principal: Principal = Depends(authenticate)) -> Principal:
        reason = refusal(request, principal, permission)
        if reason is not None:
            raise ApiError(403, reason, field="Authorization")
        return principal

    dependency.__name__ = f"require_{permission.replace(':', '_')}"
    return dependency


def check_dataset(request: Request, principal: Principal, dataset: str, field: str = "dataset") -> None:
    """Refuse (and audit) a dataset outside the key's ``--datasets``."""
    if not principal.may_see(dataset):
        reason = f"this key is not granted dataset '{dataset}'"
        get_state(request).record("api_call", principal, wait=False, result="denied", dataset=dataset,
                                  request_id=getattr(request.state, "request_id", None),
                                  extra={"endpoint": f"{request.method} {request.url.path}", "reason": reason})
        raise ApiError(403, reason, field=field)
