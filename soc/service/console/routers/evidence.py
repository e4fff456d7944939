"""Evidence (测评证据, compliance officers and admins): run the check, export a signed pack, list
past packs with their digests, verify an uploaded pack.

The export is the API's :func:`export_pack` (same pack, same ``export`` audit event with the
pack's SHA-256); past packs are read back from those audit events, so nothing else records them.
Verification is :func:`soc.evidence.pack.verify_pack` against this server's signing key, or an
uploaded public key."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.responses import HTMLResponse, Response

from soc.service.auth.principal import Principal
from soc.service.console import web
from soc.service.deps import get_state
from soc.service.errors import ApiError
from soc.service.routers.evidence import ZIP, export_pack

router = APIRouter(prefix=web.PREFIX + "/evidence", include_in_schema=False)
PERMISSION = "evidence:export"  # the API twin's: POST /v1/evidence/export


def past_packs(request: Request) -> list[dict[str, Any]]:
    """Every recorded export, newest first, from the audit trail (``export`` of ``shuwei_evidence``):
    the store's ``action`` index reads only the exports, not the whole event history."""
    store = get_state(request).backends.pipeline().store
    found = [e for e in store.iter_events(action="export") if e.get("source") == "shuwei"
             and (e.get("extra") or {}).get("operation") == "evidence_pack"]
    return sorted(found, key=lambda e: str(e.get("ts", "")), reverse=True)


def _page(request: Request, status: int = 200, **context: Any) -> HTMLResponse:
    return web.render(request, "evidence.html", status=status, packs=past_packs(request), **context)


@router.get("")
async def evidence_page(request: Request, principal: Principal = Depends(web.page(PERMISSION))) -> HTMLResponse:
    return await run_in_threadpool(lambda: _page(request))


@router.get("/check")
async def check(request: Request, principal: Principal = Depends(web.page(PERMISSION))) -> HTMLResponse:
    """Judge every 测评项 from live evidence, as ``shuwei evidence check`` does."""
    from classifier.settings import ConfigError
    from soc.evidence.pack import control_map
    from soc.evidence.report import build_report
    from soc.evidence.scope import make_scope

    settings = get_state(request).settings
    q = request.query_params

    def run() -> dict[str, Any]:
        scope = make_scope(settings, system=q.get("system") or None, level=3,
                           start=q.get("from") or None, end=q.get("to") or None)
        return build_report(settings, control_map(settings), scope)
    try:
        report = await run_in_threadpool(run)
    except ConfigError as exc:
        return web.error_page(request, 422, str(exc))
    return await run_in_threadpool(lambda: _page(request, report=report))


@router.post("/export")
async def export(request: Request, principal: Principal = Depends(web.action(PERMISSION))) -> Response:
    form = await request.form()
    fields = {k: str(form.get(k, "")).strip() or None for k in ("system", "from", "to")}
    try:
        pack = await run_in_threadpool(lambda: export_pack(request, principal, system=fields["system"], level=3,
                                                           start=fields["from"], end=fields["to"]))
    except ApiError as exc:
        return web.api_error(request, exc)
    name = f"evidence-{pack.report['scope']['to']}.zip"
    return Response(pack.data, media_type=ZIP, headers={
        "Content-Disposition": f'attachment; filename="{name}"', "X-Evidence-SHA256": pack.sha256,
        "X-Evidence-Key-Fingerprint": pack.public_key["fingerprint_sha256"]})


@router.post("/verify")
async def verify(request: Request, principal: Principal = Depends(web.action(PERMISSION))) -> HTMLResponse:
    """Verify an uploaded pack; every changed, added or missing file and bad signature is listed."""
    from crypto.errors import CryptoError
    from soc.evidence.pack import verify_pack
    from soc.evidence.signing import EvidenceSigner

    form = await request.form()
    upload, key_upload = form.get("pack"), form.get("public_key")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return web.error_page(request, 400, "pack: choose the evidence pack (zip) to verify")
    limit = get_state(request).options.audit_max_bytes
    data = await upload.read(limit + 1)
    key_data = await key_upload.read(limit + 1) if isinstance(key_upload, UploadFile) and key_upload.filename else None
    if len(data) > limit or (key_data is not None and len(key_data) > limit):
        return web.error_page(request, 413, f"upload exceeds {limit} bytes")
    settings = get_state(request).settings

    def run() -> tuple[Any, str]:
        with tempfile.TemporaryDirectory(prefix="shuwei-verify-") as tmp:
            pack_path, key_path = Path(tmp) / "pack.zip", Path(tmp) / "public-key.json"
            pack_path.write_bytes(data)
            if key_data is not None:
                key_path.write_bytes(key_data)
                source = str(key_upload.filename)  # type: ignore[union-attr]
            else:
                key_path.write_text(json.dumps(EvidenceSigner.from_settings(settings).public.document()),
                                    encoding="utf-8")
                source = "this server's evidence signing key"
            result = verify_pack(pack_path, key_path)
            # name the uploads, not the temporary files they were checked in
            result.problems[:] = [p.replace(str(pack_path), str(upload.filename)).replace(str(key_path), source)
                                  for p in result.problems]
            return result, source
    try:
        result, key_source = await run_in_threadpool(run)
    except CryptoError as exc:
        return web.error_page(request, 503, f"the evidence signing key cannot be opened: {exc}")
    return await run_in_threadpool(lambda: _page(request, verified=result, verified_name=upload.filename,
                                                 key_source=key_source))
