"""``POST /v1/audit/events``: exchange audit events (JSON array or NDJSON) into the SOC pipeline."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from pydantic import BaseModel

from classifier import jsonl
from soc.service.auth.principal import Principal
from soc.service.deps import get_state, require
from soc.service.errors import ApiError
from soc.service.metrics import EVENTS_INGESTED
from soc.service.schemas import errors

router = APIRouter(tags=["audit"])
NDJSON_TYPES = ("application/x-ndjson", "application/jsonl", "application/json-lines", "application/jsonlines")


class Rejection(BaseModel):
    index: int
    field: str | None
    reason: str


class IngestResponse(BaseModel):
    accepted: int
    duplicates: int
    rejected: list[Rejection]
    alerts: list[str]
    request_id: str


_BODY_DOC = {
    "requestBody": {
        "required": True,
        "content": {
            # Items are not constrained here: per the contract a bad event is rejected by index in the
            # 200 answer while the valid ones of the batch are stored (shared/spec/audit-event.md).
            "application/json": {"schema": {"type": "array", "items": {
                                     "description": "an exchange audit event (contract v1); one that is not "
                                     "valid is listed in `rejected` with its index and field"}},
                                 "example": [{"ts": "2026-03-01T09:15:02+08:00", "event_id": "gw-1",
                                              "source": "exchange-gateway", "user": "u1024",
                                              "action": "download", "result": "success",
                                              "dataset": "pop_basic", "rows": 5000}]},
            "application/x-ndjson": {"schema": {"type": "string"}},
        },
    }
}


@router.post("/v1/audit/events", response_model=IngestResponse, openapi_extra=_BODY_DOC,
             summary="Ingest exchange audit events (≤ 10,000 events or 10 MB per request)",
             responses=errors(413, 415, e400="the body is not a JSON array (or NDJSON)",
                              e415="neither JSON nor NDJSON"))
async def ingest_events(request: Request, principal: Principal = Depends(require("audit:write"))) -> Response:
    state = get_state(request)
    opts = state.options
    rid = request.state.request_id
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > opts.audit_max_bytes:
            raise ApiError(413, f"audit batch exceeds {opts.audit_max_bytes} bytes; split it", field="body")
    ctype = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    # Parsing up to 10 MB and ingesting are CPU work: off the event loop, in one thread hop.
    result = await run_in_threadpool(_parse_and_ingest, state, principal, rid, bytes(body), ctype)
    return Response(json.dumps(result, ensure_ascii=False, default=str), media_type="application/json")


def _parse_and_ingest(state: Any, principal: Principal, rid: str, body: bytes, ctype: str) -> dict[str, Any]:
    items, rejected = _parse(body, ctype)
    limit = state.options.audit_max_events
    if len(items) + len(rejected) > limit:
        raise ApiError(413, f"audit batch of {len(items) + len(rejected)} events exceeds the limit of "
                       f"{limit}; split it", field="body")
    return _ingest(state, principal, rid, items, rejected)


def _parse(body: bytes, ctype: str) -> tuple[list[tuple[int, Any]], list[dict[str, Any]]]:
    """``(index, object)`` pairs and the rejections of items that are not even JSON."""
    if ctype in NDJSON_TYPES:
        items: list[tuple[int, Any]] = []
        rejected: list[dict[str, Any]] = []
        index = 0
        for raw in body.split(b"\n"):
            if not raw.strip():
                continue
            try:
                items.append((index, jsonl.loads(raw)))
            except jsonl.JsonlError as exc:
                rejected.append(_unreadable(index, raw, exc))
            index += 1
        return items, rejected
    if ctype not in ("application/json", "text/json"):
        raise ApiError(415, f"content type '{ctype}' not supported: send application/json (an array) or "
                       "application/x-ndjson", field="Content-Type")
    try:
        data = jsonl.loads(body, max_depth=jsonl.MAX_DEPTH + 1)  # the array is one level
    except jsonl.JsonlError as exc:
        # One unreadable element (too deep, a huge integer) must not sink the valid others.
        elements = jsonl.split_array(body)
        if elements is None:
            raise ApiError(400, f"body is not valid JSON: {exc.reason}", code="invalid_request",
                           field="body") from None
        return _elements(elements)
    if not isinstance(data, list):
        raise ApiError(400, "body must be a JSON array of audit events (or NDJSON)", code="invalid_request",
                       field="body")
    return list(enumerate(data)), []


def _elements(elements: list[bytes]) -> tuple[list[tuple[int, Any]], list[dict[str, Any]]]:
    items: list[tuple[int, Any]] = []
    rejected: list[dict[str, Any]] = []
    for index, raw in enumerate(elements):
        try:
            items.append((index, jsonl.loads(raw)))
        except jsonl.JsonlError as exc:
            rejected.append(_unreadable(index, raw, exc))
    return items, rejected


def _unreadable(index: int, raw: bytes, exc: jsonl.JsonlError) -> dict[str, Any]:
    """An element that is not readable JSON; its field when one value is what failed."""
    field = jsonl.culprit(raw)
    return {"index": index, "field": field, "reason": exc.reason if field else f"not JSON: {exc.reason}"}


def _ingest(state: Any, principal: Principal, rid: str, items: list[tuple[int, Any]],
            rejected: list[dict[str, Any]]) -> dict[str, Any]:
    objects = []
    for index, obj in items:
        if isinstance(obj, dict):
            objects.append((index, obj))
        else:
            rejected.append({"index": index, "field": None, "reason": "not a JSON object"})
    indices = [i for i, _ in objects]
    # The self-audit event about this call rides in the same batch: one durable commit, not two.
    meta = state.call_event("api_call", principal, request_id=rid, rows=len(objects),
                            extra={"endpoint": "POST /v1/audit/events", "received": len(items)})
    result = state.backends.ingest([obj for _, obj in objects] + [meta], origin=f"api:{principal.subject}")
    for rej in result.rejected:
        pos = rej.get("index")
        if not isinstance(pos, int) or pos >= len(indices):
            continue  # the meta event; contract-shaped by construction
        rejected.append({"index": indices[pos], "field": rej.get("field"), "reason": rej.get("reason", "")})
    rejected.sort(key=lambda r: r["index"])
    meta_rejected = any(r.get("index") == len(indices) for r in result.rejected)
    accepted = result.accepted - (0 if meta_rejected else 1)  # the meta event is new (fresh event_id)
    alert_ids = [a["id"] for a in result.alerts]
    EVENTS_INGESTED.labels("accepted").inc(accepted)
    EVENTS_INGESTED.labels("duplicate").inc(result.duplicates)
    EVENTS_INGESTED.labels("rejected").inc(len(rejected))
    return {"accepted": accepted, "duplicates": result.duplicates, "rejected": rejected,
            "alerts": alert_ids, "request_id": rid}
