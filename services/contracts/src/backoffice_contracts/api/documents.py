"""Downloading the draft and the executed PDF, with a bearer token or a signed link token."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from backoffice_common.auth import User
from backoffice_common.problems import Problem
from backoffice_contracts.api.deps import ContractsUow, SettingsDep
from backoffice_contracts.service import queries

router = APIRouter(tags=["contracts"])

PDF = "application/pdf"
_optional_bearer = HTTPBearer(auto_error=False)
BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(_optional_bearer)]
LinkToken = Annotated[str | None, Query(max_length=200, description="signed read-only link token from an event")]


async def _download(
    uow: ContractsUow,
    settings: SettingsDep,
    request: Request,
    contract_id: uuid.UUID,
    credentials: HTTPAuthorizationCredentials | None,
    token: str | None,
    scope: str,
) -> Response:
    user: User | None = None
    if token is None:
        if credentials is None:
            raise Problem(401, "Unauthorized", "a bearer token or a link token is required", type="unauthorized")
        user = await request.app.state.authenticator.authenticate(credentials.credentials)
    found = await queries.document(
        uow=uow,
        settings=settings,
        contract_id=str(contract_id),
        scope=scope,
        user=user,
        token=token,
        now=datetime.now(UTC),
    )
    return Response(
        found.content,
        media_type=PDF,
        headers={
            "Content-Disposition": f'attachment; filename="{found.filename}"',
            "X-Document-SHA256": found.sha256,
            "Cache-Control": "private, no-store",
        },
    )


@router.get("/contracts/{contract_id}/draft.pdf", response_class=Response, responses={200: {"content": {PDF: {}}}})
async def download_draft(
    uow: ContractsUow,
    settings: SettingsDep,
    request: Request,
    contract_id: uuid.UUID,
    credentials: BearerDep,
    token: LinkToken = None,
) -> Response:
    """With a bearer token (parties, procurement, admin) or the signed link from ``contract.generated``."""
    return await _download(uow, settings, request, contract_id, credentials, token, "draft")


@router.get("/contracts/{contract_id}/executed.pdf", response_class=Response, responses={200: {"content": {PDF: {}}}})
async def download_executed(
    uow: ContractsUow,
    settings: SettingsDep,
    request: Request,
    contract_id: uuid.UUID,
    credentials: BearerDep,
    token: LinkToken = None,
) -> Response:
    """With a bearer token (parties, procurement, admin) or the signed link from ``contract.executed``."""
    return await _download(uow, settings, request, contract_id, credentials, token, "executed")
