"""``POST /v1/trace``: which recorded release a suspected leak came from (事后可追溯), per
docs/spec/sharing-and-tracing.md. The body is the leaked file as CSV or JSON Lines, or
``{"records": [...]}``; the trace is audited (``api_call``, ``extra.operation: trace``) and a
``traced`` verdict raises the alert *Leak traced to a release* (soc/sharewatch.py)."""

from __future__ import annotations

import json
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from classifier import jsonl
from classifier.errors import InputError, validation_error
from soc.service.auth.principal import Principal
from soc.service.deps import get_state, require
from soc.service.errors import ApiError
from soc.service.routers.audit import NDJSON_TYPES
from soc.service.schemas import StrictModel, errors

router = APIRouter(tags=["tracing"])
CSV_TYPES = ("text/csv", "application/csv")
MAX_RECORDS = 100_000


class TraceRecords(StrictModel):
    records: list[dict[str, Any]] = Field(min_length=1, max_length=MAX_RECORDS,
                                          examples=[[{"fee": "689.13", "登记日期": "2024-03-02"}]])


class CallerOut(BaseModel):
    user: str
    role: str
    org: str | None


class Candidate(BaseModel):
    release_id: str = Field(examples=["rel-9f2c4e1a7b3d5e60"])
    dataset: str
    caller: CallerOut
    at: str
    matched_rows: int
    p_value: float = Field(description="false-attribution probability, Bonferroni-corrected over the releases tested")
    evidence: list[str] = Field(examples=[["watermark 61/64 bits", "canary row 3"]])


class TraceResponse(BaseModel):
    candidates: list[Candidate] = Field(description="ordered by p_value")
    verdict: Literal["traced", "inconclusive"] = Field(description="traced: the best p_value is ≤ 1e-6")
    rows_examined: int
    releases_tested: int
    request_id: str


_BODY_DOC = {"requestBody": {"required": True, "content": {
    "application/json": {"schema": TraceRecords.model_json_schema()},
    "text/csv": {"schema": {"type": "string", "description": "the leaked file as CSV (header row first)"}},
    "application/x-ndjson": {"schema": {"type": "string", "description": "the leaked file as JSON Lines"}},
}}}


@router.post("/v1/trace", response_model=TraceResponse, openapi_extra=_BODY_DOC,
             summary="Trace a leaked file to the release it came from (溯源)",
             responses=errors(413, 415, 422, 503, e400="the JSON body is not {\"records\": [...]}",
                              e415="neither JSON, CSV nor NDJSON",
                              e422="the CSV or JSON Lines cannot be read (ragged rows, no header, bad "
                              "line) or has no rows",
                              e503="the keyring (master key) or the share store cannot be opened"))
async def trace(request: Request, dataset: str | None = Query(default=None, min_length=1,
                                                              description="only releases of this dataset"),
                principal: Principal = Depends(require("trace"))) -> Response:
    state = get_state(request)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > state.options.audit_max_bytes:
            raise ApiError(413, f"body exceeds {state.options.audit_max_bytes} bytes", field="body")
    ctype = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    result = await trace_leak(request, principal, bytes(body), ctype, dataset)
    return Response(json.dumps(result, ensure_ascii=False), media_type="application/json")


async def trace_leak(request: Request, principal: Principal, body: bytes, ctype: str,
                     dataset: str | None) -> dict[str, Any]:
    """Trace, keep the candidates the caller may see, audit (a ``traced`` verdict raises the leak
    alert): the API route and the console's upload call this."""
    from crypto.errors import CryptoError
    from crypto.share import trace as tracing

    state = get_state(request)

    def run() -> dict[str, Any]:
        records = _records(body, ctype)
        keys = state.backends.keys()
        ledger = tracing.Ledger.load(state.settings.data_dir, tracing.keyring_material(keys.keyring),
                                     dataset=dataset)
        return tracing.trace(records, ledger)
    try:
        result = await run_in_threadpool(run)
    except CryptoError as exc:
        raise ApiError(503, f"cannot trace: {exc}", code="unavailable") from None
    result["candidates"] = [c for c in result["candidates"] if principal.may_see(c["dataset"])]
    if not result["candidates"]:
        result["verdict"] = "inconclusive"
    rid = request.state.request_id
    await state.audit.emit_async(tracing.event(result, principal.subject, role=principal.role,
                                               extra={"api_key_id": principal.key_id, "request_id": rid}))
    return {**result, "request_id": rid}


def _records(body: bytes, ctype: str) -> list[dict[str, Any]]:
    from crypto.share import trace as tracing

    if ctype in CSV_TYPES or ctype in NDJSON_TYPES:
        try:
            return tracing.read_body(body, ".csv" if ctype in CSV_TYPES else ".jsonl")
        except InputError as exc:
            raise ApiError(422, str(exc), field="body") from None
    if ctype not in ("application/json", "text/json"):
        raise ApiError(415, f"content type '{ctype}' not supported: send application/json ({{\"records\": [...]}}), "
                       "text/csv or application/x-ndjson", field="Content-Type")
    try:
        data = jsonl.loads(body)
        return TraceRecords.model_validate(data).records
    except jsonl.JsonlError as exc:
        raise ApiError(400, f"body is not valid JSON: {exc.reason}", code="invalid_request", field="body") from None
    except ValidationError as exc:
        field, msg = validation_error(exc)
        raise ApiError(400, msg, code="invalid_request", field=field or "body") from None
