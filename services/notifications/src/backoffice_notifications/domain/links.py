"""Signed vendor links: ``<link id>.<HMAC of id, purpose, request, vendor, expiry>``.

The HMAC makes a token unforgeable; the link row in the database makes it single-use.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

PURPOSES = frozenset({"respond_order", "sign_contract", "retrieve_secret"})
"""``retrieve_secret`` signs a one-time link to a new webhook secret (``link_id`` is the secret's id; no request)."""


class LinkError(ValueError):
    """The token is malformed, forged, expired or for another purpose."""


class LinkNotFound(LinkError):
    """The token names no link: malformed, or no such link id."""


class LinkUsed(LinkError):
    """The link was used already (links are single-use)."""


class LinkRevoked(LinkError):
    """The link was withdrawn before use (its vendor was blocked)."""


@dataclass(frozen=True)
class LinkClaims:
    link_id: str
    purpose: str
    request_id: str
    vendor_id: str
    expires_at: datetime


def _mac(key: str, claims: LinkClaims) -> str:
    message = "|".join(
        [claims.link_id, claims.purpose, claims.request_id, claims.vendor_id, claims.expires_at.isoformat()]
    )
    digest = hmac.new(key.encode(), message.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def make_token(*, key: str, claims: LinkClaims) -> str:
    if claims.purpose not in PURPOSES:
        raise LinkError(f"unknown link purpose {claims.purpose!r}")
    return f"{claims.link_id}.{_mac(key, claims)}"


def split_token(token: str) -> tuple[str, str]:
    link_id, sep, mac = token.partition(".")
    if not sep or not link_id or not mac or len(token) > 200:
        raise LinkNotFound("the link is malformed")
    return link_id, mac


def check_token(*, key: str, token: str, claims: LinkClaims, now: datetime, previous_keys: Sequence[str] = ()) -> None:
    """``claims`` come from the stored link row; the token must carry their MAC (by ``key`` or one of the
    ``previous_keys`` of a rotation) and not be expired."""
    _, mac = split_token(token)
    if not any(hmac.compare_digest(mac.encode(), _mac(k, claims).encode()) for k in (key, *previous_keys)):
        raise LinkError("the link signature is invalid")
    if now >= claims.expires_at:
        raise LinkError("the link has expired")


@dataclass
class Link:
    """A stored link: the claims its token is signed over, what it is for, and whether it was used."""

    id: str
    purpose: str
    request_id: str
    revision: int
    vendor_id: str
    contract_id: str | None
    expires_at: datetime
    used_at: datetime | None = None
    revoked_at: datetime | None = None

    @property
    def claims(self) -> LinkClaims:
        return LinkClaims(self.id, self.purpose, self.request_id, self.vendor_id, self.expires_at)

    def check(self, *, key: str, token: str, now: datetime, previous_keys: Sequence[str] = ()) -> None:
        """Genuine, unexpired and not withdrawn (``LinkError`` otherwise); a used link passes, ``use`` refuses it."""
        check_token(key=key, token=token, claims=self.claims, now=now, previous_keys=previous_keys)
        if self.revoked_at is not None and self.used_at is None:
            raise LinkRevoked("This link was withdrawn: we no longer take answers or signatures from this vendor.")

    def ensure_unused(self) -> None:
        if self.used_at is not None:
            raise LinkUsed("This link has already been used.")

    def use(self, *, now: datetime) -> None:
        self.ensure_unused()
        self.used_at = now
