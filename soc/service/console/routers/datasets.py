"""Datasets (data owners: their own only): the catalog by grade, one dataset's columns with their
evidence (masked by the catalog), accept / override with a required comment, drift, scan history
and re-scan — through the API routers' functions, so the same checks and audit events apply."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import ValidationError
from starlette.responses import HTMLResponse, RedirectResponse, Response

from classifier.policy import ENTITY_IDS
from soc.service.auth.principal import Principal
from soc.service.console import web
from soc.service.deps import check_dataset, get_state
from soc.service.errors import ApiError
from soc.service.routers.datasets import ReviewRequest, ScanRequest, review_column, scan

router = APIRouter(prefix=web.PREFIX + "/datasets", include_in_schema=False)
GRADES = ("L1", "L2", "L3", "L4")


@router.get("")
def catalog(request: Request, principal: Principal = Depends(web.page("datasets:read"))) -> HTMLResponse:
    rows = [d for d in get_state(request).backends.catalog().list_datasets() if principal.may_see(d["dataset"])]
    rows.sort(key=lambda d: (-GRADES.index(d["grade"]) if d["grade"] in GRADES else 1, d["dataset"]))
    return web.render(request, "datasets.html", rows=rows, grades=GRADES)


@router.get("/drift")
def drift(request: Request, principal: Principal = Depends(web.page("datasets:drift"))) -> HTMLResponse:
    rows = [d for d in get_state(request).backends.catalog().drift() if principal.may_see(d["dataset"])]
    return web.render(request, "drift.html", rows=rows)


@router.get("/{dataset}")
def dataset_page(dataset: str, request: Request,
                 principal: Principal = Depends(web.page("datasets:read"))) -> HTMLResponse:
    try:
        check_dataset(request, principal, dataset)
    except ApiError as exc:
        return web.api_error(request, exc)
    found = get_state(request).backends.catalog().show(dataset)
    if found is None:
        return web.error_page(request, 404, f"unknown dataset '{dataset}'")
    return web.render(request, "dataset.html", ds=found, entities=ENTITY_IDS, grades=GRADES,
                      message=request.query_params.get("reviewed"))


@router.post("/{dataset}/review")
async def review(dataset: str, request: Request,
                 principal: Principal = Depends(web.action("datasets:review"))) -> Response:
    form = await request.form()
    accept = form.get("decision") == "accept"
    body: dict[str, Any] = {"column": str(form.get("column", "")), "comment": str(form.get("comment", "")),
                            "accept": accept}
    if not accept:
        entity = str(form.get("entity", ""))
        body["entity"] = entity or None
        body["grade"] = str(form.get("grade", "")) or None
    try:
        parsed = ReviewRequest.model_validate({k: v for k, v in body.items() if v is not None or k == "entity"})
        review_column(request, principal, dataset, parsed)
    except ValidationError as exc:
        return web.invalid_form(request, exc)
    except ApiError as exc:
        return web.api_error(request, exc)
    return RedirectResponse(f"{web.PREFIX}/datasets/{dataset}?reviewed={body['column']}", status_code=303)


@router.post("/{dataset}/scan")
async def rescan(dataset: str, request: Request,
                 principal: Principal = Depends(web.action("datasets:scan"))) -> Response:
    try:
        check_dataset(request, principal, dataset)
        found = get_state(request).backends.catalog().effective(dataset)
        if found is None:
            raise ApiError(404, f"unknown dataset '{dataset}'", field="dataset")
        scan(ScanRequest(source=found["source"], force=True), request, principal)
    except ApiError as exc:
        return web.api_error(request, exc)
    return RedirectResponse(f"{web.PREFIX}/datasets/{dataset}", status_code=303)
