"""``/v1/datasets``: the classification catalog — scans, listing, detail, owner review, drift."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from classifier.policy import ENTITY_IDS
from soc.service.auth.principal import Principal
from soc.service.deps import check_dataset, get_state, require
from soc.service.errors import ApiError
from soc.service.paths import check_sql, is_sql_url, resolve_file
from soc.service.schemas import BODY, Omittable, StrictModel, errors

router = APIRouter(tags=["datasets"])
NOT_FOUND = "unknown dataset"


class ScanRequest(StrictModel):
    model_config = ConfigDict(extra="forbid")
    source: str = Field(min_length=1, description="a file below service.readable_roots (absolute, or "
                        "relative to the first root), or an allow-listed SQLAlchemy URL",
                        examples=["pop_basic.csv"])
    full: bool = Field(default=False, description="read every row instead of a sample")
    force: bool = Field(default=False, description="scan again even if the source is unchanged")


class ReviewRequest(StrictModel):
    model_config = ConfigDict(extra="forbid")
    column: str = Field(min_length=1, examples=["联系电话"])
    comment: str = Field(pattern=r"\S", examples=["confirmed with the registry office"])
    accept: bool = Field(default=False, description="accept the scan's finding as it is")
    entity: Literal[ENTITY_IDS] | None = Field(  # type: ignore[valid-type]
        default=None, description="override: an entity id, or null for none")
    grade: Annotated[Annotated[str, Field(pattern=r"^L[1-4]$")] | SkipJsonSchema[None], Omittable] = Field(
        default=None, description="override: L1..L4")


def _input_error(exc: Exception, field: str | None = None) -> ApiError:
    """A well-formed request the catalog cannot carry out (unreadable source, conflicting options)."""
    return ApiError(422, str(exc), code="invalid_input", field=field)


@router.post("/v1/datasets/scans", summary="Classify a file or an allow-listed SQL source",
             responses=errors(404, 422, *BODY, e404="no such file below the readable roots",
                              e422="the source cannot be read as a dataset"))
def scan(body: ScanRequest, request: Request,
         principal: Principal = Depends(require("datasets:scan"))) -> list[dict[str, Any]]:
    from classifier.errors import InputError
    from classifier.scan import scan_sources

    state = get_state(request)
    opts = state.options
    if is_sql_url(body.source):
        source = check_sql(body.source, opts.sql_allowlist)
        if principal.datasets is not None:  # a scoped key names its table, so we can check first
            table = source.partition("#")[2]
            if not table:
                raise ApiError(403, "this key is limited to its datasets: name the table as URL#table",
                               field="source")
            check_dataset(request, principal, table, field="source")
    else:
        path = resolve_file(body.source, opts.readable_roots)
        check_dataset(request, principal, path.stem, field="source")
        source = str(path)
    try:
        reports = scan_sources([source], state.settings, full=body.full, force=body.force)
    except InputError as exc:
        raise _input_error(exc, "source") from None
    names = [r["dataset"] for r in reports]
    state.record("api_call", principal, request_id=request.state.request_id,
                 extra={"endpoint": "POST /v1/datasets/scans", "datasets": names, "full": body.full})
    return reports


@router.get("/v1/datasets", summary="Datasets in the catalog the caller may see", responses=errors())
def list_datasets(request: Request, limit: int | None = Query(default=None, ge=0, description="at most N (all)"),
                  offset: int = Query(default=0, ge=0),
                  principal: Principal = Depends(require("datasets:read"))) -> list[dict[str, Any]]:
    rows = [d for d in get_state(request).backends.catalog().list_datasets() if principal.may_see(d["dataset"])]
    return rows[offset:] if limit is None else rows[offset:offset + limit]


@router.get("/v1/datasets/drift", summary="Reviewed columns a later scan disagrees with", responses=errors())
def drift(request: Request, principal: Principal = Depends(require("datasets:drift"))) -> list[dict[str, Any]]:
    return [d for d in get_state(request).backends.catalog().drift() if principal.may_see(d["dataset"])]


@router.get("/v1/datasets/{dataset}", summary="One dataset with its columns, reviews and scan history",
            responses=errors(404, e404=NOT_FOUND))
def show(dataset: str, request: Request, principal: Principal = Depends(require("datasets:read"))) -> dict[str, Any]:
    check_dataset(request, principal, dataset)
    found = get_state(request).backends.catalog().show(dataset)
    if found is None:
        raise ApiError(404, f"unknown dataset '{dataset}'", field="dataset")
    return found


@router.post("/v1/datasets/{dataset}/review", summary="Owner review of one column (数据属主复核)",
             responses=errors(404, 422, *BODY, e404="unknown dataset, or no such column in its latest scan",
                              e422="the review's options contradict (accept with an override, unknown entity)"))
def review(dataset: str, body: ReviewRequest, request: Request,
           principal: Principal = Depends(require("datasets:review"))) -> dict[str, Any]:
    return review_column(request, principal, dataset, body)


def review_column(request: Request, principal: Principal, dataset: str, body: ReviewRequest) -> dict[str, Any]:
    """One owner review (the API's POST and the console's accept/override form)."""
    from classifier.errors import InputError

    check_dataset(request, principal, dataset)
    catalog = get_state(request).backends.catalog()
    effective = catalog.effective(dataset)
    if effective is None:
        raise ApiError(404, f"unknown dataset '{dataset}'", field="dataset")
    if not any(c["name"] == body.column for c in effective["columns"]):
        raise ApiError(404, f"dataset '{dataset}' has no column '{body.column}' in its latest scan",
                       field="column")
    try:
        # The catalog emits the classify_review audit event itself (reviewer = the key's holder).
        return catalog.review(dataset, body.column, reviewer=principal.subject, comment=body.comment,
                              accept=body.accept, entity=body.entity, grade=body.grade)
    except InputError as exc:
        raise _input_error(exc, "column") from None
