"""``/v1/evidence/export``: the signed evidence pack (compliance officers, admins).

Returns the zip itself; the signing key's fingerprint and the pack's SHA-256 come as headers so a
caller can check them against the public key it got from ``shuwei evidence export``. The export is
an audit event (``export`` with the pack's SHA-256).
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import BeforeValidator, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from soc.service.auth.principal import Principal
from soc.service.deps import get_state, require
from soc.service.errors import ApiError
from soc.service.schemas import BODY, JsonInt, Omittable, StrictModel, errors

if TYPE_CHECKING:
    from soc.evidence.pack import Pack

router = APIRouter(tags=["evidence"])
ZIP = "application/zip"


def _date_text(value: Any) -> Any:
    """Only ``YYYY-MM-DD`` text, as the schema says (pydantic would also read a number as a timestamp)."""
    if not isinstance(value, str):
        raise ValueError("a date as YYYY-MM-DD text")
    return value


# Not strict: a strict date refuses text, and JSON has no other way to carry one.
DateText = Annotated[date, Field(strict=False), BeforeValidator(_date_text)]


class ExportRequest(StrictModel):
    model_config = ConfigDict(extra="forbid")
    system: Annotated[Annotated[str, Field(min_length=1, pattern=r"\S")] | SkipJsonSchema[None], Omittable] = Field(
        default=None, description="the system under assessment (default: evidence.system)",
        examples=["政务数据共享交换平台"])
    level: JsonInt = Field(default=3, ge=3, le=3, description="protection level (the map holds level 3)")
    from_: Annotated[DateText | SkipJsonSchema[None], Omittable] = Field(
        default=None, alias="from", description="period start (default: 180 days before `to`)",
        examples=["2026-06-01"])
    to: Annotated[DateText | SkipJsonSchema[None], Omittable] = Field(
        default=None, description="period end, inclusive (default: now)", examples=["2026-11-30"])


@router.post("/v1/evidence/export", summary="The signed evidence pack (zip) for assessors",
             response_class=Response,
             responses={200: {"description": "the pack: report.html/.pdf, items/<测评项>/…, manifest.json, "
                                             "signature.json", "content": {ZIP: {"schema": {"type": "string",
                                                                                          "format": "binary"}}},
                              "headers": {"X-Evidence-SHA256": {"schema": {"type": "string"}},
                                          "X-Evidence-Key-Fingerprint": {"schema": {"type": "string"}}}},
                        **errors(422, 503, *BODY, e422="the period is empty: from is not before to")})
def export(body: ExportRequest, request: Request,
           principal: Principal = Depends(require("evidence:export"))) -> Response:
    pack = export_pack(request, principal, system=body.system, level=body.level,
                       start=body.from_.isoformat() if body.from_ else None,
                       end=body.to.isoformat() if body.to else None)
    name = f"evidence-{pack.report['scope']['to']}.zip"
    return Response(pack.data, media_type=ZIP, headers={
        "Content-Disposition": f'attachment; filename="{name}"', "X-Evidence-SHA256": pack.sha256,
        "X-Evidence-Key-Fingerprint": pack.public_key["fingerprint_sha256"]})


def export_pack(request: Request, principal: Principal, *, system: str | None, level: int,
                start: str | None, end: str | None) -> Pack:
    """Build and sign the pack and record the export (the API route and the console call this)."""
    from classifier.settings import ConfigError
    from crypto.errors import CryptoError
    from soc.evidence.pack import build_pack, export_event
    from soc.evidence.scope import make_scope

    state = get_state(request)
    try:
        scope = make_scope(state.settings, system=system, level=level, start=start, end=end)
    except ConfigError as exc:
        raise ApiError(422, str(exc), field="from") from None
    try:
        pack = build_pack(state.settings, scope)
    except CryptoError as exc:
        raise ApiError(503, f"the pack cannot be signed: {exc}") from None
    except ConfigError as exc:
        raise ApiError(503, f"evidence configuration: {exc}") from None
    event = export_event(pack, user=principal.subject, dest="api", role=principal.role)
    event["extra"].update(api_key_id=principal.key_id, request_id=getattr(request.state, "request_id", None))
    state.audit.emit(event)
    return pack
