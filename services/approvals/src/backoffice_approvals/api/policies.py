"""Approval policy admin API: load a new version (JSON or YAML), read, dry run."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response

from backoffice_approvals.api.bodies import (
    JSON_TYPES,
    YAML_TYPES,
    UnsupportedMediaType,
    media_type,
    parse_json,
    parse_yaml,
    read_text,
)
from backoffice_approvals.api.deps import AdminUser, SettingsDep, UowDep
from backoffice_approvals.domain.policy import PolicyDocument
from backoffice_approvals.schemas import DryRunCreate, DryRunRead, PolicyRead
from backoffice_approvals.service import policies
from backoffice_approvals.service.planning import current_policy
from backoffice_common.errors import NotFound
from backoffice_common.openapi import problem_responses, request_body

router = APIRouter(prefix="/policies", tags=["policies"])

MAX_POLICY_BYTES = 256_000
"""The body limit of ``POST /policies`` (``main.py`` hands it to the common body-size limit)."""


def _read(version: int, row: Any) -> PolicyRead:
    return PolicyRead(
        version=version, name=row.name, document=row.document, created_by=row.created_by, created_at=row.created_at
    )


async def _policy_body(request: Request) -> Any:
    content_type = media_type(request)
    text = await read_text(request)
    if content_type in YAML_TYPES:
        return parse_yaml(text)
    if content_type in JSON_TYPES:
        return parse_json(text)
    raise UnsupportedMediaType("send application/json or application/yaml")


@router.post(
    "",
    status_code=201,
    response_model=PolicyRead,
    responses=problem_responses(415),
    openapi_extra=request_body("PolicyDocument", PolicyDocument, "application/json", "application/yaml"),
)
async def load_policy(
    request: Request, response: Response, uow: UowDep, user: AdminUser, settings: SettingsDep
) -> PolicyRead:
    """A new policy version (``application/json`` or ``application/yaml``); chains already running keep theirs."""
    raw = await _policy_body(request)
    created = PolicyRead(**await policies.load_policy(uow=uow, raw=raw, created_by=user.sub, settings=settings))
    response.headers["Location"] = f"/policies/{created.version}"
    return created


@router.get("", response_model=list[PolicyRead], summary="Every loaded policy version, newest first")
async def list_policies(uow: UowDep, _: AdminUser) -> list[PolicyRead]:
    return [_read(row.version, row) for row in await uow.policies.newest(limit=500)]


async def _stored(uow: UowDep, version: int) -> PolicyRead:
    row = await uow.policies.get(version)
    if row is None:
        raise NotFound(f"no policy version {version}")
    return _read(version, row)


@router.get("/active", response_model=PolicyRead)
async def get_active_policy(uow: UowDep, _: AdminUser, settings: SettingsDep) -> PolicyRead:
    version, document = await current_policy(uow=uow, settings=settings)
    if version == 0:
        return PolicyRead(
            version=0,
            name=document.name,
            document=document.model_dump(mode="json"),
            created_by="system",
            created_at=None,
            builtin=True,
        )
    return await _stored(uow, version)


@router.get("/{version}", response_model=PolicyRead)
async def get_policy(version: Annotated[int, Path(ge=0, le=2_147_483_647)], uow: UowDep, _: AdminUser) -> PolicyRead:
    return await _stored(uow, version)


@router.post("/dry-run", response_model=DryRunRead)
async def dry_run(body: DryRunCreate, uow: UowDep, _: AdminUser, settings: SettingsDep) -> DryRunRead:
    """Who would approve this request, in which order and why; with ``policy`` given, under that draft."""
    result = await policies.dry_run(
        uow=uow,
        snapshot=body.request.model_dump(mode="json"),
        draft=body.policy,
        settings=settings,
        budget=body.budget.model_dump(mode="json") if body.budget else None,
    )
    return DryRunRead.model_validate(result)
