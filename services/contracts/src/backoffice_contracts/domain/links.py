"""Signed, expiring, read-only download links to a contract's draft or executed PDF (no user token needed)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence
from datetime import datetime

from backoffice_contracts.domain.errors import InvalidLink

__all__ = ["InvalidLink", "check", "document_url", "issue"]


def _sign(secret: str, message: bytes) -> str:
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def issue(*, secret: str, contract_id: str, scope: str, expires_at: datetime) -> str:
    expiry = int(expires_at.timestamp())
    message = f"{contract_id}|{scope}|{expiry}".encode()
    return f"{scope}.{expiry}.{_sign(secret, message)}"


def check(
    token: str, *, secret: str, contract_id: str, scope: str, now: datetime, previous: Sequence[str] = ()
) -> None:
    """Refuses a token not signed with ``secret`` or one of the ``previous`` secrets of a rotation."""
    parts = token.split(".")
    # ASCII only: "²³".isdigit() is true but int() refuses it, and compare_digest refuses non-ASCII str.
    if len(token) > 200 or not token.isascii() or len(parts) != 3 or not parts[1].isdigit():
        raise InvalidLink("the link token is malformed")
    token_scope, expiry, signature = parts
    message = f"{contract_id}|{token_scope}|{expiry}".encode()
    if not any(hmac.compare_digest(_sign(key, message), signature) for key in (secret, *previous)):
        raise InvalidLink("the link token is not valid for this contract")
    if token_scope != scope:
        raise InvalidLink(f"the link token grants {token_scope!r}, not {scope!r}")
    if int(expiry) <= now.timestamp():
        raise InvalidLink("the link has expired")


def document_url(*, base_url: str, secret: str, contract_id: str, scope: str, expires_at: datetime) -> str:
    """An absolute link to the draft or executed PDF (``scope``) for people without a JWT."""
    token = issue(secret=secret, contract_id=contract_id, scope=scope, expires_at=expires_at)
    return f"{base_url.rstrip('/')}/contracts/{contract_id}/{scope}.pdf?token={token}"
