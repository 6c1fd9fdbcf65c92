"""Verifying an uploaded PDF: is it an executed contract issued here, unmodified?"""

from __future__ import annotations

from fastapi import APIRouter, Request

from backoffice_common.errors import TooLarge
from backoffice_common.openapi import problem_responses
from backoffice_contracts.api.deps import ContractsUow, DocumentsDep, SettingsDep
from backoffice_contracts.domain.errors import EmptyUpload, MalformedUpload, MissingUploadFile, NotAPdf
from backoffice_contracts.domain.verification import Verification
from backoffice_contracts.schemas.api import SignerRead, VerificationRead
from backoffice_contracts.service import queries

router = APIRouter(tags=["contracts"])

PDF = "application/pdf"
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


@router.post(
    "/contracts/verify",
    response_model=VerificationRead,
    openapi_extra=_VERIFY_BODY,
    responses=problem_responses(400, 413, 415, 422, 503),
)
async def verify_contract(
    uow: ContractsUow, settings: SettingsDep, documents: DocumentsDep, request: Request
) -> VerificationRead:
    """Upload a PDF (raw ``application/pdf`` or multipart field ``file``): is it an executed contract issued here?"""
    content = await _read_upload(request, limit=settings.max_upload_bytes)
    return _verification_read(await queries.verify(uow=uow, documents=documents, content=content))


async def _read_upload(request: Request, *, limit: int) -> bytes:
    """The uploaded file. The body-size limit (``ServiceSpec.body_limits``) has already bounded the body,
    with room for multipart framing; the file itself must fit ``limit``."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type == "multipart/form-data":
        try:
            form = await request.form(max_files=1, max_fields=5)
        except Exception as exc:  # starlette raises several error types on malformed multipart bodies
            raise MalformedUpload(f"the multipart body cannot be parsed: {exc}") from exc
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise MissingUploadFile("the multipart body needs a file field named 'file'")
        content = await upload.read(limit + 1)
    elif media_type in (PDF, "application/octet-stream"):
        content = await request.body()
    else:
        raise NotAPdf("send the PDF as application/pdf or as multipart/form-data with a field named 'file'")
    if len(content) > limit:
        raise TooLarge(f"the upload is larger than {limit} bytes")
    if not content:
        raise EmptyUpload("the uploaded file is empty")
    return content


def _verification_read(found: Verification) -> VerificationRead:
    result = VerificationRead(
        sha256=found.sha256,
        issued_here=found.issued_here,
        signature_valid=found.seal.valid,
        unmodified=found.unmodified,
        signer_certificate=found.seal.signer_subject,
    )
    if found.contract is not None:
        result.contract_id = found.contract["id"]
        result.request_id = found.contract["request_id"]
        result.request_number = found.contract["request_number"]
        result.executed_at = found.contract["executed_at"]
        result.signers = [
            SignerRead(
                party=s["party"],
                name=s["signer_name"],
                email=s["signer_email"],
                role=s["role"],
                signed_at=s["signed_at"],
                document_sha256=s["document_sha256"],
            )
            for s in found.signatures
        ]
    return result
