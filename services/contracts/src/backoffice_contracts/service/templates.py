"""Contract templates: a new version per language, accepted only if it compiles with a sample order."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date
from typing import Any

from backoffice_common.auth import User
from backoffice_contracts.domain.document import PartyDetails, contract_data
from backoffice_contracts.domain.errors import TemplateNotFound
from backoffice_contracts.service.ports import DocumentPort
from backoffice_contracts.service.uow import ContractsUnitOfWork


async def add_template(
    *, uow: ContractsUnitOfWork, documents: DocumentPort, language: str, body: str, description: str, user: User
) -> dict[str, Any]:
    """Compile ``body`` with sample data (``TemplateError`` when it fails), store it as the next version, commit."""
    await asyncio.to_thread(documents.render, body, sample_data(language))
    values = await uow.templates.add_version(language=language, body=body, description=description, created_by=user.sub)
    fact = {"language": language, "version": values.get("version"), "created_by": user.sub, "body": body}
    uow.record_fact(type="contract_template.added", subject=f"{language}/{values.get('version')}", data=fact)
    await uow.commit()
    return values


async def list_templates(*, uow: ContractsUnitOfWork) -> list[dict[str, Any]]:
    return await uow.templates.all()


async def get_template(*, uow: ContractsUnitOfWork, language: str, version: int) -> dict[str, Any]:
    template = await uow.templates.get(language, version)
    if template is None:
        raise TemplateNotFound(f"no template {language} version {version}")
    return template


def sample_data(language: str) -> dict[str, Any]:
    """A small order to compile a template with before it is accepted."""
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
        template_version=0,
    )
