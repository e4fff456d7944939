"""``/v1/approvals``: share approvals (授权, 事前管审批) per docs/spec/sharing-and-tracing.md.

A consumer-side key requests; a data owner of the dataset (or an admin) approves, rejects or
revokes. The requester — the calling key's subject — can never approve their own request. Every
state change, and every refused decision, is an audit event (``share_request`` /
``share_approve`` with ``extra.operation``).
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

from soc.service.auth.principal import Principal
from soc.service.deps import check_dataset, get_state, require
from soc.service.errors import ApiError
from soc.service.schemas import ERRORS

router = APIRouter(tags=["approvals"])
State = Literal["pending", "approved", "rejected", "revoked", "expired"]
_ERR = ERRORS[400]["model"]
# What the store strips and then refuses when empty: the schema says so, so clients know it.
NonBlank = Annotated[str, StringConstraints(min_length=1, pattern=r"\S")]


def _iso_date(value: Any) -> Any:
    """Only ``YYYY-MM-DD`` text, as the schema says (pydantic would also read a number as a timestamp)."""
    if not isinstance(value, str):
        raise ValueError("a date as YYYY-MM-DD text")
    return value


IsoDate = Annotated[date, BeforeValidator(_iso_date)]
UNPROCESSABLE: dict[int | str, dict[str, Any]] = {
    422: {"description": "well-formed but refused: valid_until before valid_from or already past", "model": _ERR}}
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "unknown approval", "model": _ERR}}
CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"description": "the approval's state does not allow this operation", "model": _ERR}}
STORE: dict[int | str, dict[str, Any]] = {503: {"description": "the share store cannot be read or written",
                                                "model": _ERR}}


class ConsumerModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    org: NonBlank = Field(examples=["市卫健委"])
    role: NonBlank = Field(examples=["researcher"])
    user: NonBlank | None = Field(default=None, description="null: every user of the org and role")


class ApprovalRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    dataset: NonBlank = Field(examples=["pop_basic"])
    fields: list[NonBlank] = Field(min_length=1, examples=[["出生日期"]])
    consumer: ConsumerModel
    purpose: NonBlank = Field(examples=["出生缺陷研究"])
    valid_from: IsoDate = Field(examples=["2026-12-01"])
    valid_until: IsoDate = Field(examples=["2027-05-31"])


class DecisionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    operation: Literal["approve", "reject", "revoke"]
    comment: str | None = Field(default=None, min_length=1)


class ApprovalOut(BaseModel):
    approval_id: str = Field(examples=["AP-2026-0107"])
    dataset: str
    fields: list[str]
    consumer: ConsumerModel
    purpose: str
    valid_from: date
    valid_until: date
    state: State
    requested_by: str
    requested_at: str
    decided_by: str | None
    decided_at: str | None
    comment: str | None


class ApprovalList(BaseModel):
    items: list[ApprovalOut]


def _now() -> datetime:
    return datetime.now(timezone.utc).astimezone()


def _emit(request: Request, principal: Principal, event: dict[str, Any]) -> None:
    event.setdefault("role", principal.role)
    event["extra"] = {**event.get("extra", {}), "api_key_id": principal.key_id,
                      "request_id": getattr(request.state, "request_id", None)}
    get_state(request).audit.emit(event)


def _error(exc: Exception, code: str) -> ApiError:
    status = {"invalid": 422, "not_found": 404, "conflict": 409, "self_approval": 403, "storage": 503}[code]
    return ApiError(status, str(exc), code=code if code == "self_approval" else None)


@router.post("/v1/approvals", status_code=201, response_model=ApprovalOut, summary="Request a share approval",
             responses={**ERRORS, **UNPROCESSABLE, **STORE})
def request_approval(body: ApprovalRequest, request: Request,
                     principal: Principal = Depends(require("approvals:request"))) -> dict[str, Any]:
    from crypto.share import approvals as store

    check_dataset(request, principal, body.dataset)
    c = body.consumer
    try:
        approval = store.request(get_state(request).settings.data_dir, dataset=body.dataset, fields=body.fields,
                                 consumer=store.Consumer(c.org, c.role, c.user), purpose=body.purpose,
                                 valid_from=body.valid_from, valid_until=body.valid_until,
                                 requested_by=principal.subject, now=_now())
    except store.ShareError as exc:
        raise _error(exc, exc.code) from None
    _emit(request, principal, store.event(approval, "request", principal.subject))
    return approval.to_dict(date.today())


@router.get("/v1/approvals", response_model=ApprovalList, summary="Stored approvals, oldest first",
            responses={**ERRORS, **STORE})
def list_approvals(request: Request, dataset: str | None = Query(default=None, min_length=1),
                   state: State | None = None,
                   principal: Principal = Depends(require("approvals:read"))) -> dict[str, Any]:
    from crypto.share import approvals as store

    today = date.today()
    found = store.list_approvals(get_state(request).settings.data_dir, today, dataset=dataset, state=state)
    return {"items": [a.to_dict(today) for a in found if principal.may_see(a.dataset)]}


@router.get("/v1/approvals/{approval_id}", response_model=ApprovalOut, summary="One approval",
            responses={**ERRORS, **NOT_FOUND, **STORE})
def get_approval(approval_id: str, request: Request,
                 principal: Principal = Depends(require("approvals:read"))) -> dict[str, Any]:
    from crypto.share import approvals as store

    try:
        approval = store.get(get_state(request).settings.data_dir, approval_id)
    except store.ShareError as exc:
        raise _error(exc, exc.code) from None
    check_dataset(request, principal, approval.dataset, field="approval_id")
    return approval.to_dict(date.today())


@router.post("/v1/approvals/{approval_id}/decision", response_model=ApprovalOut,
             summary="Approve, reject or revoke (data owner of the dataset or admin; never the requester)",
             responses={**ERRORS, **NOT_FOUND, **CONFLICT, **STORE})
def decide(approval_id: str, body: DecisionRequest, request: Request,
           principal: Principal = Depends(require("approvals:decide"))) -> dict[str, Any]:
    return decide_approval(request, principal, approval_id, body)


def decide_approval(request: Request, principal: Principal, approval_id: str,
                    body: DecisionRequest) -> dict[str, Any]:
    """Approve, reject or revoke, audited (accepted or refused) — the API's POST and the console's buttons."""
    from crypto.share import approvals as store

    data_dir = get_state(request).settings.data_dir
    try:
        current = store.get(data_dir, approval_id)
    except store.ShareError as exc:
        raise _error(exc, exc.code) from None
    check_dataset(request, principal, current.dataset, field="approval_id")
    today = date.today()
    try:
        approval = store.decide(data_dir, approval_id, body.operation, decided_by=principal.subject, now=_now(),
                                today=today, comment=body.comment)
    except store.ShareError as exc:
        _emit(request, principal, store.event(current, body.operation, principal.subject, result="denied",
                                              reason=str(exc)))
        raise _error(exc, exc.code) from None
    _emit(request, principal, store.event(approval, body.operation, principal.subject,
                                          extra={"state": approval.state(today)}))
    return approval.to_dict(today)
