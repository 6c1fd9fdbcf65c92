"""POST /vendor-webhook: a vendor's system answers, signed per Standard Webhooks."""

from __future__ import annotations

import json
import time
from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from sqlalchemy.dialects.postgresql import insert as pg_insert

from backoffice_common.app import UowDep
from backoffice_common.problems import Problem
from backoffice_notifications.domain.webhook_signature import SignatureError, parse_headers, verify
from backoffice_notifications.flows.orders import get_vendor
from backoffice_notifications.inbound.responses import Signer, answer_order, sign_contract
from backoffice_notifications.models import received_webhook
from backoffice_notifications.schemas_common import Email, LongText, Name
from backoffice_notifications.settings import Settings
from backoffice_notifications.vendors.secrets_store import valid_secrets

router = APIRouter(tags=["vendor webhook"])
MAX_BODY = 64 * 1024


class _Base(BaseModel):
    model_config = ConfigDict(extra="forbid")
    vendor_id: str = Field(min_length=1, max_length=36)


class AcceptOrder(_Base):
    action: Literal["accept"]
    request_id: str = Field(min_length=1, max_length=36)
    expected_delivery: date | None = None
    note: LongText = ""


class DeclineOrder(_Base):
    action: Literal["decline"]
    request_id: str = Field(min_length=1, max_length=36)
    reason: LongText = Field(min_length=1)


class SignContract(_Base):
    action: Literal["sign_contract"]
    contract_id: str = Field(min_length=1, max_length=36)
    document_sha256: str = Field(pattern=r"^[0-9a-fA-F]{64}$")
    signer_name: Name
    signer_email: Email | None = None


VendorMessage = Annotated[AcceptOrder | DeclineOrder | SignContract, Field(discriminator="action")]
_adapter: TypeAdapter[AcceptOrder | DeclineOrder | SignContract] = TypeAdapter(VendorMessage)


def _unauthorized(detail: str) -> Problem:
    return Problem(401, "Unauthorized", detail, type="webhook-signature")


@router.post("/vendor-webhook", status_code=200)
async def vendor_webhook(request: Request, uow: UowDep) -> dict[str, str]:
    """Accept or decline an order, or sign a contract. The signature is checked over the raw body."""
    settings: Settings = request.app.state.settings
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise Problem(413, "Content Too Large", f"the body exceeds {MAX_BODY} bytes", type="too-large")
    try:
        headers = parse_headers({k.lower(): v for k, v in request.headers.items()})
    except SignatureError as exc:
        raise _unauthorized(str(exc)) from exc
    try:
        decoded = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Problem(400, "Bad Request", f"the body is not JSON: {exc}", type="malformed-body") from exc
    vendor_id = decoded.get("vendor_id") if isinstance(decoded, dict) else None
    if not isinstance(vendor_id, str) or not vendor_id or len(vendor_id) > 36 or "\x00" in vendor_id:
        raise Problem(422, "Request validation failed", "vendor_id (string) is required", type="validation")
    vendor_row = await get_vendor(uow, vendor_id)
    secrets_ = (
        await valid_secrets(session=uow.session, vendor_id=vendor_id, key=settings.secret_encryption_key)
        if vendor_row is not None
        else []
    )
    try:
        verify(
            secrets_=secrets_, headers=headers, body=raw, now=time.time(), tolerance=settings.webhook_tolerance_seconds
        )
    except SignatureError as exc:
        raise _unauthorized(str(exc)) from exc
    fresh = await uow.session.execute(
        pg_insert(received_webhook)
        .values(vendor_id=vendor_id, webhook_id=headers.msg_id)
        .on_conflict_do_nothing()
        .returning(received_webhook.c.webhook_id)
    )
    if fresh.scalar_one_or_none() is None:
        raise Problem(409, "Conflict", f"webhook-id {headers.msg_id} was already received", type="webhook-replayed")
    try:
        message = _adapter.validate_python(decoded)
    except ValidationError as exc:
        errors = [
            {"location": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in exc.errors(include_url=False)
        ][:20]
        detail = "; ".join(f"{e['location']}: {e['message']}" for e in errors[:5])
        raise Problem(422, "Request validation failed", detail, type="validation", errors=errors) from exc
    if isinstance(message, SignContract):
        signer = Signer(
            name=message.signer_name,
            email=message.signer_email or "",
            client_ip=request.client.host if request.client else "",
            user_agent=request.headers.get("user-agent", ""),
        )
        event = await sign_contract(
            uow=uow,
            contract_id=message.contract_id,
            vendor_id=vendor_id,
            document_sha256=message.document_sha256,
            signer=signer,
            channel="webhook",
        )
    else:
        event = await answer_order(
            uow=uow,
            request_id=message.request_id,
            vendor_id=vendor_id,
            accept=isinstance(message, AcceptOrder),
            expected_delivery=message.expected_delivery if isinstance(message, AcceptOrder) else None,
            note=message.note if isinstance(message, AcceptOrder) else "",
            reason=message.reason if isinstance(message, DeclineOrder) else "",
        )
    await uow.commit()
    return {"status": "accepted", "event_type": event.type, "event_id": event.id}
