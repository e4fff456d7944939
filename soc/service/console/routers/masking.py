"""Masking: the policy as tables (rules in order, approvals, entity and grade masks) and try-it —
a pasted record released through the API's :func:`release`, so it is masked, written to the
release ledger and audited exactly like a ``/v1/mask`` call."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.responses import HTMLResponse

from soc.service.auth.principal import Principal
from soc.service.console import web
from soc.service.deps import get_state
from soc.service.errors import ApiError
from soc.service.routers.mask import MaskRequest, release

router = APIRouter(prefix=web.PREFIX + "/masking", include_in_schema=False)
EXAMPLE = json.dumps({"姓名": "张三", "公民身份号码": "11010519491231002X", "联系电话": "13812345678"},
                     ensure_ascii=False)


async def _policy(request: Request) -> tuple[Any, str | None]:
    from crypto.errors import CryptoError

    try:
        engine = await run_in_threadpool(get_state(request).backends.masking)
    except CryptoError as exc:
        return None, str(exc)
    return engine.policy, None


async def _page(request: Request, status: int = 200, **context: Any) -> HTMLResponse:
    policy, problem = await _policy(request)
    form = {"dataset": "", "user": "", "role": "", "org": "", "purpose": "", "approval_id": "", "record": EXAMPLE}
    form.update(context.pop("form", {}))
    return web.render(request, "masking.html", status=status, policy=policy, policy_problem=problem,
                      form=form, result=context.pop("result", None), message=context.pop("message", None))


@router.get("")
async def masking_page(request: Request, principal: Principal = Depends(web.page("mask"))) -> HTMLResponse:
    return await _page(request)


@router.post("/try")
async def try_it(request: Request, principal: Principal = Depends(web.action("mask"))) -> HTMLResponse:
    raw = await request.form()
    form = {k: str(raw.get(k, "")).strip() for k in ("dataset", "user", "role", "org", "purpose", "approval_id",
                                                      "record")}
    try:
        parsed = json.loads(form["record"])
    except json.JSONDecodeError as exc:
        return await _page(request, 400, form=form, message=f"record: not JSON: {exc.msg} (line {exc.lineno}, "
                                                            f"column {exc.colno})")
    records = parsed if isinstance(parsed, list) else [parsed]
    caller = {k: form[k] or None for k in ("user", "role", "org", "purpose", "approval_id")}
    try:
        body = MaskRequest.model_validate({"dataset": form["dataset"], "caller": caller, "records": records})
    except ValidationError as exc:
        return await _page(request, 400, form=form, message=web.form_message(exc))
    try:
        payload, release_id = await release(request, principal, body)
    except ApiError as exc:
        return await _page(request, exc.status, form=form, message=exc.message)
    result = {"release_id": release_id, "records": [json.dumps(r, ensure_ascii=False, indent=1, default=str)
                                                     for r in payload["records"]],
              "decisions": sorted(payload["decisions"].items()), "fallbacks": payload["fallbacks"]}
    return await _page(request, form=form, result=result)
