"""``POST /v1/mask`` exactly per docs/spec/masking-and-crypto.md (dynamic desensitization)."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timezone
from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from classifier.audit import make_event
from crypto.share import releases
from soc.service.auth.principal import Principal
from soc.service.deps import check_dataset, get_state, require
from soc.service.errors import ApiError
from soc.service.metrics import MASK_DECISIONS, MASK_RECORDS
from soc.service.schemas import BODY, StrictModel, errors

router = APIRouter(tags=["masking"])
INLINE_RECORDS = 200


class CallerIn(StrictModel):
    """The person or system the exchange platform releases data to (drives the policy decision)."""

    model_config = ConfigDict(extra="ignore")
    user: str = Field(min_length=1, examples=["u1024"])
    role: str = Field(min_length=1, examples=["analyst"])
    org: str | None = Field(default=None, examples=["市卫健委"])
    purpose: str | None = Field(default=None, examples=["疫苗接种统计"])
    approval_id: str | None = Field(default=None, examples=["AP-2026-0012"])


class MaskRequest(StrictModel):
    dataset: str = Field(min_length=1, examples=["pop_basic"])
    caller: CallerIn
    records: list[dict[str, Any]] = Field(examples=[[{"姓名": "张三", "公民身份号码": "110105194912310021",
                                                      "联系电话": "13812345678"}]])


class Decision(BaseModel):
    strategy: str
    reason: str
    spans: dict[str, int] | None = Field(None, description="free text (mask_spans): spans masked per entity")


class MaskResponse(BaseModel):
    records: list[dict[str, Any]]
    decisions: dict[str, Decision]
    fallbacks: list[str]
    request_id: str


@router.post("/v1/mask", response_model=MaskResponse, summary="Desensitize records for release (动态脱敏)",
             responses={200: {"headers": {"X-Release-ID": {
                 "description": "the release ledger entry of this call (rel- + 16 hex; `shuwei share releases`)",
                 "schema": {"type": "string", "pattern": "^rel-[0-9a-f]{16}$"}}}},
                 **errors(422, 503, *BODY, e400="malformed body or record", e413="batch over the "
                          "configured limit", e422="unknown strategy in policy", e503="a rule needs the "
                          "keyring (hash, tokenize, encrypt) and it cannot be opened (no master key), or the "
                          "release ledger cannot be written")})
async def mask(body: MaskRequest, request: Request, principal: Principal = Depends(require("mask"))) -> Response:
    payload, release_id = await release(request, principal, body)
    # Serialized here, not by FastAPI's encoder: large batches are the hot path of the platform.
    # The body keeps the contract's shape; the release ledger id travels in a header.
    return Response(json.dumps(payload, ensure_ascii=False, default=str), media_type="application/json",
                    headers={"X-Release-ID": release_id})


async def release(request: Request, principal: Principal, body: MaskRequest) -> tuple[dict[str, Any], str]:
    """Mask one batch for release: ledger row and ``mask`` audit event durable before the answer.
    ``/v1/mask`` and the console's try-it both release through here (masked and audited alike)."""
    from crypto.engine import Caller
    from crypto.errors import KeyringError, MasterKeyError, PolicyError, RecordError

    state = get_state(request)
    rid = request.state.request_id
    check_dataset(request, principal, body.dataset)
    limit = state.options.mask_max_records
    if len(body.records) > limit:
        raise ApiError(413, f"batch of {len(body.records)} records exceeds the limit of {limit}", field="records")
    caller = Caller(user=body.caller.user, role=body.caller.role, org=body.caller.org,
                    purpose=body.caller.purpose, approval_id=body.caller.approval_id)
    fields = sorted({k for r in body.records for k in r})
    audit = dict(user=body.caller.user, role=body.caller.role, org=body.caller.org, dataset=body.dataset,
                 purpose=body.caller.purpose, approval_id=body.caller.approval_id, rows=len(body.records),
                 fields=fields)
    try:
        # Opening the engine reads the policy (a bad one is a 422 on every call): in a thread, once.
        engine = state.backends.loaded("masking") or await run_in_threadpool(state.backends.masking)
        grades = state.backends.field_grades(body.dataset, state.options.catalog_cache_seconds)
        if grades is not None and not all(f in grades for f in fields):
            grades = None  # fields the catalog does not know: the engine classifies them on the fly

        def run() -> Any:
            # The route emits the one ``mask`` event itself: it knows the request id and the API key.
            return engine.mask(body.dataset, caller, body.records, grades=grades, emit_audit=False)
        # Small batches on catalog grades cost well under a millisecond: a thread hop (and 40 threads
        # fighting over the GIL) would cost more than it saves. Large or classifying calls go to threads.
        if grades is not None and len(body.records) <= INLINE_RECORDS:
            result = run()
        else:
            result = await run_in_threadpool(run)
    except RecordError as exc:
        await _audit(state, principal, rid, "error", audit, {"reason": str(exc)})
        raise ApiError(400, str(exc), code="invalid_record",
                       field=f"records[{exc.index}]" + (f".{exc.field}" if exc.field else "")) from None
    except PolicyError as exc:
        await _audit(state, principal, rid, "error", audit, {"reason": str(exc)})
        raise ApiError(422, str(exc), code="policy_error", field=exc.rule) from None
    except (MasterKeyError, KeyringError) as exc:  # the policy's keys, not the caller's input
        await _audit(state, principal, rid, "error", audit, {"reason": str(exc)})
        raise ApiError(503, f"keys unavailable: {exc}", code="unavailable") from None
    decisions = {f: {k: d[k] for k in ("strategy", "reason", "spans") if k in d} for f, d in result.decisions.items()}
    strategies = {f: d["strategy"] for f, d in decisions.items()}
    release = releases.build(dataset=body.dataset, user=caller.user, role=caller.role, org=caller.org,
                             purpose=caller.purpose, approval_id=caller.approval_id, rows=len(body.records),
                             fields=strategies, now=datetime.now(timezone.utc).astimezone(),
                             watermark=result.watermark)
    release_id = release.release_id
    # The ledger row and the audit event are both durable before the answer; written side by side
    # (group commits), so the release costs no extra fsync on the caller's path.
    stored = asyncio.wrap_future(releases.group_writer(state.settings.data_dir).submit(release))
    audited = _audit(state, principal, rid, "success", audit,
                     {"strategies": strategies, "fallbacks": list(result.fallbacks), "release_id": release_id})
    outcome = await asyncio.gather(stored, audited, return_exceptions=True)
    if isinstance(outcome[0], BaseException):  # no ledger row, no release
        await _audit(state, principal, rid, "error", audit, {"reason": f"release ledger: {outcome[0]}"})
        raise ApiError(503, f"the release ledger cannot be written: {outcome[0]}", code="unavailable")
    if isinstance(outcome[1], BaseException):
        raise outcome[1]
    for d in decisions.values():
        MASK_DECISIONS.labels(d["strategy"]).inc()
    MASK_RECORDS.inc(len(result.records))
    payload = {"records": result.records, "decisions": decisions, "fallbacks": list(result.fallbacks),
               "request_id": rid}
    return payload, release_id


async def _audit(state: Any, principal: Principal, rid: str, result: str, fields: dict[str, Any],
                 extra: dict[str, Any]) -> None:
    """One ``mask`` event per call, durable before the answer. ``user`` is the person released to;
    the API key is in ``extra``."""
    event_fields = dict(fields)
    user = event_fields.pop("user")
    role = event_fields.pop("role")
    event = make_event("mask", user=user, role=role, result=result,
                       extra={"api_key": principal.subject, "api_key_id": principal.key_id, "request_id": rid,
                              **extra}, **event_fields)
    await state.audit.emit_async(event)
