"""Creating and redeeming signed vendor links."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice_notifications.domain.links import LinkClaims, LinkError, check_token, make_token, split_token
from backoffice_notifications.models import vendor_link
from backoffice_notifications.settings import Settings


async def create_link(
    *,
    session: AsyncSession,
    settings: Settings,
    purpose: str,
    request_id: str,
    revision: int,
    vendor_id: str,
    contract_id: str | None = None,
    expires_at: datetime | None = None,
) -> tuple[str, datetime]:
    """The URL of a new link and when it expires."""
    limit = datetime.now(UTC) + timedelta(hours=settings.link_ttl_hours)
    expires = min(limit, expires_at) if expires_at else limit
    expires = expires.replace(microsecond=0)
    link_id = str(uuid.uuid4())
    await session.execute(
        vendor_link.insert().values(
            id=link_id,
            purpose=purpose,
            request_id=request_id,
            revision=revision,
            vendor_id=vendor_id,
            contract_id=contract_id,
            expires_at=expires,
        )
    )
    claims = LinkClaims(link_id, purpose, request_id, vendor_id, expires)
    token = make_token(key=settings.link_signing_key, claims=claims)
    return f"{settings.public_base_url.rstrip('/')}/vendor-links/{token}", expires


async def load_link(*, session: AsyncSession, settings: Settings, token: str, lock: bool = False) -> RowMapping:
    """The link row of a genuine, unexpired token (``LinkError`` otherwise); used links are returned too."""
    link_id, _ = split_token(token)
    try:
        uuid.UUID(link_id)
    except ValueError as exc:
        raise LinkError("the link is malformed") from exc
    query = select(vendor_link).where(vendor_link.c.id == link_id)
    if lock:
        query = query.with_for_update()
    row = (await session.execute(query)).mappings().first()
    if row is None:
        raise LinkError("the link is unknown")
    claims = LinkClaims(row["id"], row["purpose"], row["request_id"], row["vendor_id"], row["expires_at"])
    check_token(key=settings.link_signing_key, token=token, claims=claims, now=datetime.now(UTC))
    return row


async def mark_used(*, session: AsyncSession, link_id: str) -> None:
    await session.execute(vendor_link.update().where(vendor_link.c.id == link_id).values(used_at=datetime.now(UTC)))
