"""REST routes: thin translations of HTTP into use-case calls."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select

from backoffice_common.app import UowDep
from backoffice_common.auth import CurrentUser, User, require_roles
from backoffice_common.problems import Problem
from backoffice_contracts import links, repository, sealing, service
from backoffice_contracts.domain.contract import SignatureRefused, StaleDocument
from backoffice_contracts.models import contract, contract_template
from backoffice_contracts.pdf import TemplateError
from backoffice_contracts.runtime import Runtime
from backoffice_contracts.schemas import (
    ContractRead,
    RefusalRead,
    SignatureCreate,
    SignatureRead,
    SignerRead,
    TemplateCreate,
    TemplateRead,
    VerificationRead,
)

router = APIRouter(tags=["contracts"])
templates_router = APIRouter(prefix="/contract-templates", tags=["templates"])

_optional_bearer = HTTPBearer(auto_error=False)
AdminUser = Annotated[User, Depends(require_roles("admin"))]
PDF = "application/pdf"


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.contracts
    return runtime


RuntimeDep = Annotated[Runtime, Depends(_runtime)]


def _not_found(contract_id: uuid.UUID) -> Problem:
    return Problem(404, "Not Found", f"no contract {contract_id} that you may see", type="not-found")


async def _read(uow: UowDep, row: dict[str, Any]) -> ContractRead:
    sigs = await repository.signatures(uow.session, row["id"])
    refusals = await repository.refusals(uow.session, row["id"])
    return ContractRead(
        **{k: row[k] for k in ContractRead.model_fields if k in row},
        signatures=[SignatureRead(**s) for s in sigs],
        refusals=[RefusalRead(**r) for r in refusals],
        draft_url=f"/contracts/{row['id']}/draft.pdf",
        executed_url=f"/contracts/{row['id']}/executed.pdf" if row["executed_sha256"] else None,
    )


async def _visible_row(uow: UowDep, runtime: Runtime, user: User, contract_id: uuid.UUID) -> dict[str, Any]:
    row = await repository.get_row(uow.session, str(contract_id))
    if row is None or not service.may_read(user, row, runtime):
        raise _not_found(contract_id)
    return row


@router.get("/contracts", response_model=list[ContractRead])
async def list_contracts(
    uow: UowDep, runtime: RuntimeDep, user: CurrentUser, request_id: Annotated[uuid.UUID, Query()]
) -> list[ContractRead]:
    rows = await uow.session.execute(
        select(contract).where(contract.c.request_id == str(request_id)).order_by(contract.c.revision)
    )
    visible = [dict(r) for r in rows.mappings() if service.may_read(user, dict(r), runtime)]
    return [await _read(uow, row) for row in visible]


@router.get("/contracts/{contract_id}", response_model=ContractRead)
async def get_contract(uow: UowDep, runtime: RuntimeDep, user: CurrentUser, contract_id: uuid.UUID) -> ContractRead:
    return await _read(uow, await _visible_row(uow, runtime, user, contract_id))


@router.post("/contracts/{contract_id}/signatures", response_model=ContractRead, status_code=201)
async def sign_contract(
    uow: UowDep,
    runtime: RuntimeDep,
    user: CurrentUser,
    contract_id: uuid.UUID,
    body: SignatureCreate,
    request: Request,
) -> ContractRead:
    """The buyer's signature (procurement or a configured signatory) on the document hash the signer saw."""
    try:
        await service.sign_as_buyer(
            uow=uow,
            runtime=runtime,
            contract_id=str(contract_id),
            user=user,
            document_sha256=body.document_sha256,
            client_ip=request.client.host if request.client else None,
            user_agent=request.headers.get("user-agent"),
            now=datetime.now(UTC),
        )
    except service.ContractNotFound as exc:
        raise _not_found(contract_id) from exc
    except service.NotAllowed as exc:
        raise Problem(403, "Forbidden", str(exc), type="forbidden") from exc
    except service.SealingFailed as exc:
        raise Problem(
            503, "Service Unavailable", f"{exc}; the signature was not recorded, try again later", type="sealing-failed"
        ) from exc
    except SignatureRefused as exc:
        extra = {"current_document_sha256": None}
        if isinstance(exc, StaleDocument):
            row = await repository.get_row(uow.session, str(contract_id))
            extra["current_document_sha256"] = row["document_sha256"] if row else None
        raise Problem(409, "Conflict", exc.message, type=f"signature-{exc.code.replace('_', '-')}", **extra) from exc
    await uow.commit()
    return await _read(uow, await _visible_row(uow, runtime, user, contract_id))


async def _row_for_download(
    uow: UowDep,
    runtime: Runtime,
    request: Request,
    contract_id: uuid.UUID,
    credentials: HTTPAuthorizationCredentials | None,
    token: str | None,
    scope: str,
) -> dict[str, Any]:
    if token is not None:
        try:
            links.check(
                token,
                secret=runtime.settings.link_secret,
                contract_id=str(contract_id),
                scope=scope,
                now=datetime.now(UTC),
            )
        except links.InvalidLink as exc:
            raise Problem(403, "Forbidden", str(exc), type="invalid-link") from exc
        row = await repository.get_row(uow.session, str(contract_id))
        if row is None:
            raise _not_found(contract_id)
        return row
    if credentials is None:
        raise Problem(401, "Unauthorized", "a bearer token or a link token is required", type="unauthorized")
    user = await request.app.state.authenticator.authenticate(credentials.credentials)
    return await _visible_row(uow, runtime, user, contract_id)


BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(_optional_bearer)]
LinkToken = Annotated[str | None, Query(max_length=200, description="signed read-only link token from an event")]


@router.get("/contracts/{contract_id}/draft.pdf", response_class=Response, responses={200: {"content": {PDF: {}}}})
async def download_draft(
    uow: UowDep,
    runtime: RuntimeDep,
    request: Request,
    contract_id: uuid.UUID,
    credentials: BearerDep,
    token: LinkToken = None,
) -> Response:
    """With a bearer token (parties, procurement, admin) or the signed link from ``contract.generated``."""
    row = await _row_for_download(uow, runtime, request, contract_id, credentials, token, "draft")
    return _pdf(row["document"], f"contract-{row['request_number']}-draft.pdf", row["document_sha256"])


@router.get("/contracts/{contract_id}/executed.pdf", response_class=Response, responses={200: {"content": {PDF: {}}}})
async def download_executed(
    uow: UowDep,
    runtime: RuntimeDep,
    request: Request,
    contract_id: uuid.UUID,
    credentials: BearerDep,
    token: LinkToken = None,
) -> Response:
    """With a bearer token (parties, procurement, admin) or the signed link from ``contract.executed``."""
    row = await _row_for_download(uow, runtime, request, contract_id, credentials, token, "executed")
    if row["executed_document"] is None:
        raise Problem(409, "Conflict", f"the contract is {row['status']}, not executed", type="not-executed")
    return _pdf(row["executed_document"], f"contract-{row['request_number']}-executed.pdf", row["executed_sha256"])


def _pdf(content: bytes, filename: str, digest: str) -> Response:
    return Response(
        content,
        media_type=PDF,
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "X-Document-SHA256": digest,
            "Cache-Control": "private, no-store",
        },
    )


_VERIFY_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            PDF: {"schema": {"type": "string", "format": "binary"}},
            "multipart/form-data": {
                "schema": {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}}}
            },
        },
    }
}


@router.post("/contracts/verify", response_model=VerificationRead, openapi_extra=_VERIFY_BODY)
async def verify_contract(uow: UowDep, runtime: RuntimeDep, request: Request) -> VerificationRead:
    """Upload a PDF (raw ``application/pdf`` or multipart field ``file``): is it an executed contract issued here?"""
    content = await _read_upload(request, limit=runtime.settings.max_upload_bytes)
    digest = service.sha256(content)
    try:
        check = await asyncio.to_thread(sealing.check_seal, content, runtime.identity())
    except sealing.NotAPdf as exc:
        raise Problem(415, "Unsupported Media Type", str(exc), type="not-a-pdf") from exc
    row = (await uow.session.execute(select(contract).where(contract.c.executed_sha256 == digest))).mappings().first()
    result = VerificationRead(
        sha256=digest,
        issued_here=row is not None,
        signature_valid=check.valid,
        unmodified=row is not None and check.valid,
        signer_certificate=check.signer_subject,
    )
    if row is not None:
        sigs = await repository.signatures(uow.session, row["id"])
        result.contract_id = row["id"]
        result.request_id = row["request_id"]
        result.request_number = row["request_number"]
        result.executed_at = row["executed_at"]
        result.signers = [
            SignerRead(
                party=s["party"],
                name=s["signer_name"],
                email=s["signer_email"],
                role=s["role"],
                signed_at=s["signed_at"],
                document_sha256=s["document_sha256"],
            )
            for s in sigs
        ]
    return result


async def _read_upload(request: Request, *, limit: int) -> bytes:
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > limit + 64 * 1024:
        raise _too_large(limit)
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type == "multipart/form-data":
        try:
            form = await request.form(max_files=1, max_fields=5)
        except Exception as exc:  # starlette raises on malformed multipart bodies
            raise Problem(400, "Bad Request", f"the multipart body cannot be parsed: {exc}", type="bad-upload") from exc
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise Problem(
                422, "Unprocessable Content", "the multipart body needs a file field named 'file'", type="bad-upload"
            )
        content = await upload.read(limit + 1)
    elif media_type in (PDF, "application/octet-stream"):
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise _too_large(limit)
            chunks.append(chunk)
        content = b"".join(chunks)
    else:
        raise Problem(
            415,
            "Unsupported Media Type",
            "send the PDF as application/pdf or as multipart/form-data with a field named 'file'",
            type="not-a-pdf",
        )
    if len(content) > limit:
        raise _too_large(limit)
    if not content:
        raise Problem(422, "Unprocessable Content", "the uploaded file is empty", type="empty-upload")
    return content


def _too_large(limit: int) -> Problem:
    return Problem(413, "Content Too Large", f"the upload is larger than {limit} bytes", type="too-large")


@templates_router.get("", response_model=list[TemplateRead])
async def list_templates(uow: UowDep, user: AdminUser) -> list[TemplateRead]:
    rows = await uow.session.execute(
        select(contract_template).order_by(contract_template.c.language, contract_template.c.version)
    )
    return [TemplateRead(**{**dict(r), "body": None}) for r in rows.mappings()]


@templates_router.get("/{language}/{version}", response_model=TemplateRead)
async def get_template(
    uow: UowDep,
    user: AdminUser,
    language: Annotated[str, Path(pattern="^(en|de)$")],
    version: Annotated[int, Path(ge=1, le=2_147_483_647)],
) -> TemplateRead:
    row = (
        (
            await uow.session.execute(
                select(contract_template).where(
                    contract_template.c.language == language, contract_template.c.version == version
                )
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        raise Problem(404, "Not Found", f"no template {language} version {version}", type="not-found")
    return TemplateRead(**dict(row))


@templates_router.post("", response_model=TemplateRead, status_code=201)
async def create_template(uow: UowDep, user: AdminUser, body: TemplateCreate) -> TemplateRead:
    """A new version of the language's template; it is compiled with sample data first and used from now on."""
    try:
        values = await service.add_template(
            uow=uow, language=body.language, body=body.body, description=body.description, user=user
        )
    except TemplateError as exc:
        raise Problem(422, "Unprocessable Content", str(exc), type="invalid-template") from exc
    await uow.commit()
    return TemplateRead(**values, created_at=datetime.now(UTC))
