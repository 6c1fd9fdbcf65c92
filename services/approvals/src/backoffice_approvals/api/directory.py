"""Approver directory admin API: list, upsert one, bulk import as JSON or CSV."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from backoffice_approvals.api.bodies import (
    JSON_TYPES,
    UnsupportedMediaType,
    media_type,
    parse_csv_rows,
    parse_json,
    read_text,
    validated,
)
from backoffice_approvals.api.deps import AdminUser, PathId, SettingsDep, UowDep
from backoffice_approvals.domain.people import Approver
from backoffice_approvals.schemas import ApproverCreate, ApproverRead, ApproverUpdate, DirectoryImport, ImportResult
from backoffice_approvals.service import directory
from backoffice_common.errors import NotFound
from backoffice_common.openapi import problem_responses, request_body

router = APIRouter(prefix="/directory", tags=["directory"])

CSV_IMPORT = (
    "A header row naming the fields of an approver (id, name, email, manager_id, department, head_of, groups,"
    " limit_amount, limit_currency, active, language), then one approver a row; head_of and groups separated by ';'."
)


@router.get("/approvers", response_model=list[ApproverRead])
async def list_approvers(uow: UowDep, _: AdminUser) -> list[dict[str, Any]]:
    approvers = (await uow.directory.load()).approvers.values()
    return [a.as_values() for a in sorted(approvers, key=lambda a: a.id)]


@router.get("/approvers/{approver_id}", response_model=ApproverRead)
async def get_approver(approver_id: PathId, uow: UowDep, _: AdminUser) -> dict[str, Any]:
    found = (await uow.directory.load()).get(approver_id)
    if found is None:
        raise NotFound(f"no approver {approver_id!r}")
    return found.as_values()


@router.put("/approvers/{approver_id}", response_model=ApproverRead)
async def put_approver(
    approver_id: PathId, body: ApproverUpdate, uow: UowDep, settings: SettingsDep, _: AdminUser
) -> dict[str, Any]:
    approver = Approver.of(
        validated(ApproverCreate, {"id": approver_id, **body.model_dump()}), default_language=settings.default_language
    )
    await directory.save_approvers(uow=uow, approvers=[approver])
    return approver.as_values()


@router.post(
    "/approvers/import",
    response_model=ImportResult,
    responses=problem_responses(415),
    openapi_extra=request_body(
        "DirectoryImport",
        DirectoryImport,
        "application/json",
        others={"text/csv": {"type": "string", "description": CSV_IMPORT}},
    ),
)
async def import_approvers(request: Request, uow: UowDep, settings: SettingsDep, _: AdminUser) -> ImportResult:
    """Bulk import: ``application/json`` ``{"approvers": [...]}`` or ``text/csv`` with a header row
    (``head_of`` and ``groups`` separated by ``;``). All or nothing."""
    content_type = media_type(request)
    text = await read_text(request, encoding="utf-8-sig")
    if content_type == "text/csv":
        parsed = validated(DirectoryImport, {"approvers": parse_csv_rows(text)}, rename=("approvers", "rows"))
    elif content_type in JSON_TYPES:
        parsed = validated(DirectoryImport, parse_json(text))
    else:
        raise UnsupportedMediaType("send application/json or text/csv")
    imported = await directory.import_approvers(
        uow=uow, approvers=[Approver.of(a, default_language=settings.default_language) for a in parsed.approvers]
    )
    return ImportResult(imported=imported)
