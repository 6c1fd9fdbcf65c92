"""The template admin API: versioned typst templates per language."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response

from backoffice_common.auth import User, require_roles
from backoffice_contracts import service
from backoffice_contracts.api.deps import ContractsUow, DocumentsDep
from backoffice_contracts.schemas.api import TemplateCreate, TemplateRead

router = APIRouter(prefix="/contract-templates", tags=["templates"])

AdminUser = Annotated[User, Depends(require_roles("admin"))]


@router.get("", response_model=list[TemplateRead])
async def list_templates(uow: ContractsUow, user: AdminUser) -> list[TemplateRead]:
    return [TemplateRead(**{**row, "body": None}) for row in await service.list_templates(uow=uow)]


@router.get("/{language}/{version}", response_model=TemplateRead)
async def get_template(
    uow: ContractsUow,
    user: AdminUser,
    language: Annotated[str, Path(pattern="^(en|de)$")],
    version: Annotated[int, Path(ge=1, le=2_147_483_647)],
) -> TemplateRead:
    return TemplateRead(**await service.get_template(uow=uow, language=language, version=version))


@router.post("", response_model=TemplateRead, status_code=201)
async def create_template(
    uow: ContractsUow, documents: DocumentsDep, user: AdminUser, body: TemplateCreate, response: Response
) -> TemplateRead:
    """A new version of the language's template; it is compiled with sample data first and used from now on."""
    values = await service.add_template(
        uow=uow, documents=documents, language=body.language, body=body.body, description=body.description, user=user
    )
    created = TemplateRead(**values, created_at=datetime.now(UTC))
    response.headers["Location"] = f"/contract-templates/{created.language}/{created.version}"
    return created
