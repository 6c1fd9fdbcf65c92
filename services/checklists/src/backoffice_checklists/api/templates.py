"""Templates: HR reads, edits (each edit a new version) and previews them for an employee."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from backoffice_checklists.api.auth import Hr
from backoffice_checklists.api.common import TemplateKey, Uow, item_read, template_read
from backoffice_checklists.domain.templates import Due, Purchase, Template, TemplateItem
from backoffice_checklists.schemas import ItemRead, PurchaseIn, TemplatePreview, TemplateRead, TemplateUpdate
from backoffice_checklists.service import templates as service
from backoffice_common.openapi import problem_responses

router = APIRouter(prefix="/templates", tags=["templates"])


def _purchase(body: PurchaseIn | None) -> Purchase | None:
    if body is None:
        return None
    return Purchase(**(body.model_dump() | {"quantity": str(body.quantity), "unit_price": str(body.unit_price)}))


def _draft(key: str, body: TemplateUpdate) -> Template:
    items = tuple(
        TemplateItem(
            key=i.key,
            title=i.title,
            responsible=i.responsible,
            due=Due(i.due.anchor, i.due.offset_days),
            evidence=i.evidence,
            depends_on=tuple(i.depends_on),
            conditions={name: frozenset(values) for name, values in i.conditions.items()},
            access_revocation=i.access_revocation,
            purchase=_purchase(i.purchase),
        )
        for i in body.items
    )
    return Template(key, body.kind, body.language, 0, body.title, items)


@router.get("", response_model=list[TemplateRead])
async def list_templates(uow: Uow, user: Hr) -> list[TemplateRead]:
    """The newest version of every template."""
    return [template_read(t, row) for t, row in await uow.templates.all_latest()]


@router.get("/{key}", response_model=TemplateRead)
async def get_template(
    key: TemplateKey, uow: Uow, user: Hr, version: Annotated[int | None, Query(ge=1, le=1_000_000)] = None
) -> TemplateRead:
    template = await service.get(uow=uow, key=key, version=version)
    return template_read(template)


@router.get("/{key}/versions", response_model=list[TemplateRead])
async def template_versions(key: TemplateKey, uow: Uow, user: Hr) -> list[TemplateRead]:
    versions = await uow.templates.versions(key)
    if not versions:
        await service.get(uow=uow, key=key)
    return [template_read(t, row) for t, row in versions]


@router.put(
    "/{key}", response_model=TemplateRead, status_code=status.HTTP_201_CREATED, responses=problem_responses(409)
)
async def put_template(key: TemplateKey, body: TemplateUpdate, uow: Uow, user: Hr) -> TemplateRead:
    """Store ``body`` as the next version of ``key`` (version 1 for a new key). Running checklists keep theirs."""
    template = await service.add_version(uow=uow, draft=_draft(key, body), by=user.sub)
    await uow.commit()
    return template_read(template)


@router.post("/{key}/preview", response_model=list[ItemRead], responses=problem_responses(409))
async def preview_template(key: TemplateKey, body: TemplatePreview, uow: Uow, user: Hr) -> list[ItemRead]:
    """The items the newest version would give this employee, with their due dates; nothing is stored."""
    return [item_read(i) for i in await service.preview(uow=uow, key=key, employee=body.employee.domain())]
