"""Contracts: reading them, and the buyer's signature."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from backoffice_common.auth import CurrentUser
from backoffice_common.db import read_connection
from backoffice_common.deps import ReadConnection
from backoffice_common.openapi import problem_responses
from backoffice_contracts import service
from backoffice_contracts.api.deps import ContractsUow, DocumentsDep, SettingsDep
from backoffice_contracts.schemas.api import ContractRead, RefusalRead, SignatureCreate, SignatureRead
from backoffice_contracts.service import queries

router = APIRouter(tags=["contracts"])


def _read(view: queries.ContractView) -> ContractRead:
    row = view.contract
    return ContractRead(
        **{k: row[k] for k in ContractRead.model_fields if k in row},
        signatures=[SignatureRead(**s) for s in view.signatures],
        refusals=[RefusalRead(**r) for r in view.refusals],
        draft_url=f"/contracts/{row['id']}/draft.pdf",
        executed_url=f"/contracts/{row['id']}/executed.pdf" if row["executed_sha256"] else None,
    )


@router.get("/contracts", response_model=list[ContractRead])
async def list_contracts(
    settings: SettingsDep, user: CurrentUser, conn: ReadConnection, request_id: Annotated[uuid.UUID, Query()]
) -> list[ContractRead]:
    # No unit of work: one statement on a pooled connection without a transaction (read_connection).
    views = await queries.contracts_of_request_now(conn=conn, settings=settings, user=user, request_id=str(request_id))
    return [_read(view) for view in views]


@router.get("/contracts/{contract_id}", response_model=ContractRead)
async def get_contract(
    settings: SettingsDep, user: CurrentUser, conn: ReadConnection, contract_id: uuid.UUID
) -> ContractRead:
    view = await queries.contract_view_now(conn=conn, settings=settings, user=user, contract_id=str(contract_id))
    return _read(view)


@router.post(
    "/contracts/{contract_id}/signatures",
    response_model=ContractRead,
    status_code=201,
    responses=problem_responses(
        409, s409="Conflict: a stale document hash, not the buyer's turn, the contract not open, or signed already"
    ),
)
async def sign_contract(
    uow: ContractsUow,
    settings: SettingsDep,
    documents: DocumentsDep,
    user: CurrentUser,
    contract_id: uuid.UUID,
    body: SignatureCreate,
    request: Request,
    response: Response,
) -> ContractRead:
    """The buyer's signature (procurement or a configured signatory) on the document hash the signer saw."""
    await service.sign_as_buyer(
        uow=uow,
        settings=settings,
        documents=documents,
        contract_id=str(contract_id),
        user=user,
        document_sha256=body.document_sha256,
        client_ip=request.client.host if request.client else None,
        user_agent=request.headers.get("user-agent"),
        now=datetime.now(UTC),
    )
    response.headers["Location"] = f"/contracts/{contract_id}"
    # ``sign_as_buyer`` committed (the session gave its connection back): the answer is read as stored, in ONE
    # statement on a pooled connection without a transaction (``GET /contracts/{id}``'s read), not in three
    # statements of a new transaction of the session.
    async with read_connection(request.app.state.engine) as conn:
        view = await queries.contract_view_now(conn=conn, settings=settings, user=user, contract_id=str(contract_id))
    return _read(view)
