"""Standard Webhooks signatures: HMAC-SHA256 over ``id.timestamp.body`` with ``whsec_`` secrets."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from dataclasses import dataclass

SECRET_PREFIX = "whsec_"  # noqa: S105 - a format prefix, not a secret


class SignatureError(ValueError):
    """The message is not signed correctly, or is too old / too new."""


class MalformedSignatureHeaders(SignatureError):
    """A signature header is there but cannot be one (a 400, not a failed login)."""


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def _key(secret: str) -> bytes:
    raw = secret.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(raw + "==", validate=False)
    except (binascii.Error, ValueError) as exc:
        raise SignatureError("malformed secret") from exc
    if not key:
        raise SignatureError("empty secret")
    return key


def sign(*, secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(_key(secret), f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def signature_header(*, secrets_: list[str], msg_id: str, timestamp: int, body: bytes) -> str:
    """One signature per valid secret, space-separated, so a receiver holding either secret verifies."""
    return " ".join(sign(secret=s, msg_id=msg_id, timestamp=timestamp, body=body) for s in secrets_)


@dataclass(frozen=True)
class SignedHeaders:
    msg_id: str
    timestamp: int
    signatures: str


def parse_headers(headers: dict[str, str]) -> SignedHeaders:
    msg_id = headers.get("webhook-id", "")
    raw_ts = headers.get("webhook-timestamp", "")
    signatures = headers.get("webhook-signature", "")
    if not msg_id or not raw_ts or not signatures:
        raise SignatureError("webhook-id, webhook-timestamp and webhook-signature headers are required")
    if len(msg_id) > 200:
        raise MalformedSignatureHeaders("webhook-id is longer than 200 characters")
    # str.isdigit() is true for "²³", which int() refuses: only ASCII digits are a timestamp.
    if not (raw_ts.isascii() and raw_ts.isdigit()) or len(raw_ts) > 12:
        raise MalformedSignatureHeaders("webhook-timestamp must be integer seconds since the epoch (ASCII digits)")
    return SignedHeaders(msg_id=msg_id, timestamp=int(raw_ts), signatures=signatures)


def verify(*, secrets_: list[str], headers: SignedHeaders, body: bytes, now: float, tolerance: int) -> None:
    """Raise ``SignatureError`` unless one signature matches one of ``secrets_`` within the tolerance."""
    if headers.timestamp < now - tolerance:
        raise SignatureError("webhook-timestamp is too old")
    if headers.timestamp > now + tolerance:
        raise SignatureError("webhook-timestamp is too far in the future")
    offered = [part.split(",", 1)[1] for part in headers.signatures.split(" ") if part.startswith("v1,")]
    for secret in secrets_:
        expected = sign(secret=secret, msg_id=headers.msg_id, timestamp=headers.timestamp, body=body)[3:]
        if any(hmac.compare_digest(expected.encode(), candidate.encode()) for candidate in offered):
            return
    raise SignatureError("no signature matches the vendor's secrets")
