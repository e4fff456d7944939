"""Who is calling: the same shape whether the credential was an API key or an OIDC token."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Principal:
    subject: str                       # key name or token ``sub``; the audit event's ``user``
    role: str
    datasets: frozenset[str] | None    # None = not limited to listed datasets
    grants: frozenset[str]
    key_id: str | None = None          # None for tokens
    rate: float | None = None
    burst: int | None = None

    @property
    def limiter_id(self) -> str:
        return self.key_id or f"jwt:{self.subject}"

    def may_see(self, dataset: str) -> bool:
        return self.datasets is None or dataset in self.datasets
