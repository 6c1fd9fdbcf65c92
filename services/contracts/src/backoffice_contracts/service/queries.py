"""What the API reads: contracts a user may see, documents behind a token or a link, verification of uploads."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from backoffice_common.auth import User
from backoffice_contracts.domain import links
from backoffice_contracts.domain.document import sha256
from backoffice_contracts.domain.errors import ContractNotFound, NotExecuted
from backoffice_contracts.domain.verification import Verification
from backoffice_contracts.repository.contracts import contract_views
from backoffice_contracts.service.access import may_read
from backoffice_contracts.service.ports import DocumentPort
from backoffice_contracts.service.uow import ContractsUnitOfWork
from backoffice_contracts.settings import Settings


@dataclass(frozen=True)
class ContractView:
    contract: dict[str, Any]
    signatures: list[dict[str, Any]]
    refusals: list[dict[str, Any]]


@dataclass(frozen=True)
class DocumentFile:
    content: bytes
    filename: str
    sha256: str


async def contract_view_now(
    *, conn: asyncpg.Connection, settings: Settings, user: User, contract_id: str
) -> ContractView:
    """The contract with its signatures and refusals, in one statement on a connection without a transaction
    (``GET /contracts/{id}``, and a buyer signature's answer once committed); ``ContractNotFound`` when the user
    may not see it."""
    views = await contract_views(conn, contract_id=contract_id)
    if not views or not may_read(user, views[0][0], settings):
        raise ContractNotFound(contract_id)
    return ContractView(*views[0])


async def contracts_of_request_now(
    *, conn: asyncpg.Connection, settings: Settings, user: User, request_id: str
) -> list[ContractView]:
    """The contracts of a request (one per revision) the user may see, in one statement on a connection without a
    transaction (``GET /contracts``)."""
    views = await contract_views(conn, request_id=request_id)
    return [ContractView(*view) for view in views if may_read(user, view[0], settings)]


async def document(
    *,
    uow: ContractsUnitOfWork,
    settings: Settings,
    contract_id: str,
    scope: str,
    user: User | None,
    token: str | None,
    now: datetime,
) -> DocumentFile:
    """The draft or executed PDF (``scope``), for a link ``token`` of that scope or else a user who may see it."""
    if token is not None:
        links.check(
            token,
            secret=settings.link_secret,
            previous=settings.link_previous_secrets,
            contract_id=contract_id,
            scope=scope,
            now=now,
        )
    row = await uow.contracts.row(contract_id)
    if row is None or (token is None and (user is None or not may_read(user, row, settings))):
        raise ContractNotFound(contract_id)
    if scope == "draft":
        content = await uow.contracts.draft_document(contract_id)
        return DocumentFile(content, f"contract-{row['request_number']}-draft.pdf", row["document_sha256"])
    if row["executed_sha256"] is None:
        raise NotExecuted(f"the contract is {row['status']}, not executed")
    content = await uow.contracts.executed_document(contract_id)
    return DocumentFile(content, f"contract-{row['request_number']}-executed.pdf", row["executed_sha256"])


async def verify(*, uow: ContractsUnitOfWork, documents: DocumentPort, content: bytes) -> Verification:
    """Is ``content`` an executed contract issued here (byte for byte), and is its seal valid?"""
    digest = sha256(content)
    seal = await asyncio.to_thread(documents.check_seal, content)
    row = await uow.contracts.executed_with_sha256(digest)
    if row is None:
        return Verification(sha256=digest, seal=seal)
    return Verification(
        sha256=digest, seal=seal, contract=row, signatures=await uow.contracts.signature_rows(row["id"])
    )
