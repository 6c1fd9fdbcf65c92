"""Who may see a contract, who may sign it for the buyer, and the links that let a party read it without a token."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from backoffice_common.auth import User
from backoffice_contracts.domain import links
from backoffice_contracts.settings import Settings

BUYER_SIGNER_ROLES = ("procurement",)


def may_read(user: User, contract: dict[str, Any], settings: Settings) -> bool:
    """The order's requester, procurement and admin, and the configured buyer signatories."""
    return user.sees_everything or user.sub == contract["requester_id"] or user.sub in settings.buyer_signers


def may_sign_for_buyer(user: User, settings: Settings) -> bool:
    return user.has_any(*BUYER_SIGNER_ROLES) or user.sub in settings.buyer_signers


def buyer_signer_role(user: User) -> str:
    return "procurement" if user.has_any("procurement") else "buyer_signatory"


def document_link(settings: Settings, *, contract_id: str, scope: str, expires_at: datetime) -> str:
    """A signed, expiring, read-only link to the draft or executed PDF, for parties without a user token."""
    return links.document_url(
        base_url=settings.public_base_url,
        secret=settings.link_secret,
        contract_id=contract_id,
        scope=scope,
        expires_at=expires_at,
    )
