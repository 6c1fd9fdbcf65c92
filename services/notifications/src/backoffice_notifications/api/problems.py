"""The notifications service's one error map: refusal -> RFC 9457 problem (over backoffice_common's generic map)."""

from __future__ import annotations

from backoffice_common.errors import ErrorMap, ProblemType
from backoffice_common.idempotency import IDEMPOTENCY_ERRORS
from backoffice_notifications.domain.addresses import UnsafeUrlError
from backoffice_notifications.domain.errors import (
    CannotBeNull,
    ContractNotFound,
    DeliveryNotFailed,
    DeliveryNotFound,
    ResponseRefused,
    VendorNotFound,
    WebhookReplayed,
)
from backoffice_notifications.domain.webhook_signature import MalformedSignatureHeaders, SignatureError

PROBLEMS: ErrorMap = {
    **IDEMPOTENCY_ERRORS,
    VendorNotFound: ProblemType(404, "Not Found", "vendor-not-found"),
    ContractNotFound: ProblemType(404, "Not Found", "contract-not-found"),
    DeliveryNotFound: ProblemType(404, "Not Found", "delivery-not-found"),
    DeliveryNotFailed: ProblemType(409, "Conflict", "delivery-not-failed"),
    ResponseRefused: ProblemType(409, "Conflict", "vendor-response-refused"),
    WebhookReplayed: ProblemType(409, "Conflict", "webhook-replayed"),
    CannotBeNull: ProblemType(422, "Invalid update", "validation"),
    UnsafeUrlError: ProblemType(422, "Webhook URL refused", "unsafe-webhook-url"),
    SignatureError: ProblemType(401, "Unauthorized", "webhook-signature"),
    MalformedSignatureHeaders: ProblemType(400, "Bad Request", "malformed-webhook-headers"),
}
