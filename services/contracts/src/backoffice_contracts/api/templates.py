"""The template admin API: versioned typst templates per language, previewed and activated by a second admin."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response

from backoffice_common.auth import User, require_roles
from backoffice_common.openapi import problem_responses
from backoffice_contracts import service
from backoffice_contracts.api.deps import ContractsUow, DocumentsDep
from backoffice_contracts.schemas.api import TemplateCreate, TemplateRead

router = APIRouter(prefix="/contract-templates", tags=["templates"])

AdminUser = Annotated[User, Depends(require_roles("admin"))]
Language = Annotated[str, Path(pattern="^(en|de)$")]
Version = Annotated[int, Path(ge=1, le=2_147_483_647)]
PDF = "application/pdf"


@router.get("", response_model=list[TemplateRead])
async def list_templates(uow: ContractsUow, user: AdminUser) -> list[TemplateRead]:
    return [TemplateRead(**{**row, "body": None}) for row in await service.list_templates(uow=uow)]


@router.get("/{language}/{version}", response_model=TemplateRead)
async def get_template(uow: ContractsUow, user: AdminUser, language: Language, version: Version) -> TemplateRead:
    return TemplateRead(**await service.get_template(uow=uow, language=language, version=version))


@router.post(
    "",
    response_model=TemplateRead,
    status_code=201,
    responses=problem_responses(
        422,
        s422="Unprocessable: the body is invalid, or the template does not render the sample order (a compile "
        "error, a package import, or more than the render time, CPU or memory limit): type invalid-template",
    ),
)
async def create_template(
    uow: ContractsUow, documents: DocumentsDep, user: AdminUser, body: TemplateCreate, response: Response
) -> TemplateRead:
    """A new version of the language's template, rendered with sample data in the sandbox first.

    It is `pending`: contracts keep using the active version until a second admin activates this one.
    """
    values = await service.add_template(
        uow=uow, documents=documents, language=body.language, body=body.body, description=body.description, user=user
    )
    created = TemplateRead(**values, created_at=datetime.now(UTC))
    response.headers["Location"] = f"/contract-templates/{created.language}/{created.version}"
    return created


@router.get(
    "/{language}/{version}/preview.pdf",
    response_class=Response,
    responses={
        200: {"description": "the template rendered with the sample order", "content": {PDF: {}}},
        **problem_responses(404, 422, s422="Unprocessable: the template does not render (type invalid-template)"),
    },
)
async def preview_template(
    uow: ContractsUow, documents: DocumentsDep, user: AdminUser, language: Language, version: Version
) -> Response:
    """The version rendered with the sample order (in the sandbox), to look at before activating it."""
    pdf = await service.preview_template(uow=uow, documents=documents, language=language, version=version)
    return Response(
        pdf,
        media_type=PDF,
        headers={
            "Content-Disposition": f'inline; filename="template-{language}-{version}-preview.pdf"',
            "Cache-Control": "private, no-store",
        },
    )


@router.post(
    "/{language}/{version}/activation",
    response_model=TemplateRead,
    responses=problem_responses(
        403,
        404,
        409,
        s403="Forbidden: not an admin, or the admin who uploaded this version (type segregation-of-duties, "
        "rule template_author)",
        s409="Conflict: the version is active already or older than the active one (type template-not-activatable, "
        "with active_version)",
    ),
)
async def activate_template(uow: ContractsUow, user: AdminUser, language: Language, version: Version) -> TemplateRead:
    """Use this version for every contract generated from now on; only an admin other than its uploader may."""
    return TemplateRead(
        **await service.activate_template(uow=uow, language=language, version=version, user=user, now=datetime.now(UTC))
    )
