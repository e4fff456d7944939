"""The caller's own identity, so an integrator can check a key before wiring it in."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from soc.service.auth.principal import Principal
from soc.service.deps import require
from soc.service.schemas import errors

router = APIRouter(tags=["auth"])


class WhoAmI(BaseModel):
    subject: str
    role: str
    datasets: list[str] | None
    grants: list[str]
    key_id: str | None


@router.get("/v1/whoami", response_model=WhoAmI, summary="The authenticated caller",
            responses=errors())
async def whoami(principal: Principal = Depends(require("whoami"))) -> WhoAmI:
    return WhoAmI(subject=principal.subject, role=principal.role,
                  datasets=sorted(principal.datasets) if principal.datasets is not None else None,
                  grants=sorted(principal.grants), key_id=principal.key_id)
