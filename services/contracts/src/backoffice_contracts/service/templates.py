"""Contract templates: a new version per language, accepted only if it renders a sample order in the sandbox,
previewed, and used only once a second admin (not its author) has activated it (four eyes)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, datetime
from typing import Any

from backoffice_common.auth import User
from backoffice_contracts.domain.document import PartyDetails, contract_data
from backoffice_contracts.domain.errors import SegregationOfDuties, TemplateNotActivatable, TemplateNotFound
from backoffice_contracts.service.ports import DocumentPort
from backoffice_contracts.service.uow import ContractsUnitOfWork


async def add_template(
    *, uow: ContractsUnitOfWork, documents: DocumentPort, language: str, body: str, description: str, user: User
) -> dict[str, Any]:
    """Render ``body`` with sample data in the sandbox (``TemplateError`` when it fails or exceeds a limit),
    store it as the next version, pending activation, commit."""
    await asyncio.to_thread(documents.render, body, sample_data(language))
    await uow.templates.lock_language(language)  # concurrent uploads: each its own next version, not a 500
    values = await uow.templates.add_version(language=language, body=body, description=description, created_by=user.sub)
    fact = {"language": language, "version": values.get("version"), "created_by": user.sub, "body": body}
    uow.record_fact(type="contract_template.added", subject=f"{language}/{values.get('version')}", data=fact)
    await uow.commit()
    return {**values, "activated_by": None, "activated_at": None, "status": "pending"}


async def activate_template(
    *, uow: ContractsUnitOfWork, language: str, version: int, user: User, now: datetime
) -> dict[str, Any]:
    """Make ``version`` the one the next contracts of ``language`` are rendered with, commit.

    Refused to the admin who uploaded it (``SegregationOfDuties``, rule ``template_author``), and for a version
    that is active already or older than the active one (``TemplateNotActivatable``).
    """
    await uow.templates.lock_language(language)
    template = await uow.templates.get(language, version, for_update=True)
    if template is None:
        raise TemplateNotFound(f"no template {language} version {version}")
    if template["created_by"] == user.sub:
        raise SegregationOfDuties(
            "a template version is activated by a second admin, not by the one who uploaded it", rule="template_author"
        )
    active = (await uow.templates.active_versions()).get(language)
    if active is not None and version <= active:
        state = "is the active version" if version == active else f"is older than the active version {active}"
        raise TemplateNotActivatable(f"template {language} version {version} {state}", active_version=active)
    await uow.templates.activate(language=language, version=version, activated_by=user.sub, at=now)
    fact = {
        "language": language,
        "version": version,
        "created_by": template["created_by"],
        "activated_by": user.sub,
        "previous_version": active,
    }
    uow.record_fact(type="contract_template.activated", subject=f"{language}/{version}", data=fact)
    await uow.commit()
    return {**template, "activated_by": user.sub, "activated_at": now, "status": "active"}


async def preview_template(*, uow: ContractsUnitOfWork, documents: DocumentPort, language: str, version: int) -> bytes:
    """The PDF of ``version`` rendered with the sample order, in the sandbox (``TemplateError`` on failure)."""
    template = await get_template(uow=uow, language=language, version=version)
    await uow.rollback()  # nothing to write: no transaction held while rendering
    return await asyncio.to_thread(documents.render, template["body"], sample_data(language, template_version=version))


async def list_templates(*, uow: ContractsUnitOfWork) -> list[dict[str, Any]]:
    active = await uow.templates.active_versions()
    return [{**row, "status": _status(row, active.get(row["language"]))} for row in await uow.templates.all()]


async def get_template(*, uow: ContractsUnitOfWork, language: str, version: int) -> dict[str, Any]:
    template = await uow.templates.get(language, version)
    if template is None:
        raise TemplateNotFound(f"no template {language} version {version}")
    active = (await uow.templates.active_versions()).get(language)
    return {**template, "status": _status(template, active)}


def _status(template: dict[str, Any], active: int | None) -> str:
    """``active`` (in use), ``pending`` (newer, awaiting a second admin) or ``superseded`` (older than the active)."""
    if active is not None and template["version"] == active:
        return "active"
    if active is None or template["version"] > active:
        return "pending"
    return "superseded"


def sample_data(language: str, *, template_version: int = 0) -> dict[str, Any]:
    """A small order to compile a template with before it is accepted, and to preview it."""
    return contract_data(
        contract_id=str(uuid.UUID(int=0)),
        language=language,
        request={
            "number": "PR-000000",
            "revision": 1,
            "title": "Sample",
            "description": "",
            "currency": "EUR",
            "total": "10.00",
            "needed_by": "2030-01-01",
            "requester": {"id": "sample", "name": "Sample"},
            "lines": [
                {
                    "line_no": 1,
                    "description": "Item",
                    "quantity": "1",
                    "unit": "pcs",
                    "unit_price": "10.00",
                    "amount": "10.00",
                }
            ],
        },
        vendor=PartyDetails(name="Vendor Ltd", address="1 Road", email="v@example.com"),
        buyer=PartyDetails(name="Buyer GmbH", address="Straße 1"),
        expected_delivery=None,
        note="",
        issued_on=date(2030, 1, 1),
        template_version=template_version,
    )
