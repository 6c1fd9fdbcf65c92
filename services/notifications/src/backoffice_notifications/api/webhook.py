"""POST /vendor-webhook: a vendor's system answers, signed per Standard Webhooks over the raw body."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from backoffice_common.openapi import problem_responses, request_body
from backoffice_common.problems import Problem
from backoffice_notifications.api.deps import SettingsDep, Uow
from backoffice_notifications.domain.contracts import Signer
from backoffice_notifications.domain.orders import Answer
from backoffice_notifications.domain.webhook_signature import parse_headers
from backoffice_notifications.schemas import AcceptOrder, SignContract, vendor_message
from backoffice_notifications.service import webhook
from backoffice_notifications.service.responses import ContractSignature, OrderAnswer, VendorCommand

router = APIRouter(tags=["vendor webhook"])
MAX_BODY = 64 * 1024


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Problem(400, "Bad Request", f"the body is not JSON: {exc}", type="malformed-body") from exc
    except RecursionError as exc:
        raise Problem(400, "Bad Request", "the body is nested too deeply", type="malformed-body") from exc


def _vendor_id(decoded: Any) -> str:
    """Read before verification only to pick the secrets to verify with."""
    vendor_id = decoded.get("vendor_id") if isinstance(decoded, dict) else None
    if not isinstance(vendor_id, str) or not vendor_id or len(vendor_id) > 36 or "\x00" in vendor_id:
        raise Problem(422, "Request validation failed", "vendor_id (string) is required", type="validation")
    return vendor_id


def _command(decoded: Any, request: Request) -> VendorCommand:
    try:
        message = vendor_message.validate_python(decoded)
    except ValidationError as exc:
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]) from exc
    if isinstance(message, SignContract):
        origin = (request.client.host if request.client else "", request.headers.get("user-agent", ""))
        signer = Signer(message.signer_name, message.signer_email or "", *origin)
        return ContractSignature(message.contract_id, message.document_sha256, signer)
    if isinstance(message, AcceptOrder):
        answer = Answer(accept=True, expected_delivery=message.expected_delivery, note=message.note)
        return OrderAnswer(message.request_id, answer)
    return OrderAnswer(message.request_id, Answer(accept=False, reason=message.reason))


@router.post(
    "/vendor-webhook",
    status_code=200,
    responses=problem_responses(
        400,
        401,
        404,
        409,
        413,
        422,
        503,
        s401="Unauthorized: the Standard Webhooks signature is missing, wrong or outside the tolerance",
        s409="Conflict: a replayed webhook-id, or an answer the order or contract no longer accepts",
    ),
    openapi_extra=request_body("VendorMessage", vendor_message, "application/json"),
)
async def vendor_webhook(request: Request, uow: Uow, settings: SettingsDep) -> dict[str, str]:
    """Accept or decline an order, or sign a contract. The signature is checked over the raw body."""
    raw = await request.body()
    headers = parse_headers({k.lower(): v for k, v in request.headers.items()})
    decoded = _json(raw)
    vendor_id = _vendor_id(decoded)
    vendor = await webhook.authenticate(uow, settings=settings, vendor_id=vendor_id, headers=headers, body=raw)
    command = _command(decoded, request)
    event = await webhook.answer(uow, vendor_id=vendor_id, command=command, settings=settings, vendor=vendor)
    return {"status": "accepted", "event_type": event.type, "event_id": event.id}
