"""Vendor webhook secrets, encrypted at rest with Fernet; old secrets stay valid for the overlap."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from cryptography.fernet import Fernet
from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice_notifications.domain.webhook_signature import new_secret
from backoffice_notifications.models import vendor_secret


def _fernet(key: str) -> Fernet:
    return Fernet(key.encode())


async def rotate(
    *, session: AsyncSession, vendor_id: str, key: str, overlap_seconds: float
) -> tuple[str, str, datetime, datetime | None]:
    """A new secret (id, plaintext, created_at, when the previous ones stop working)."""
    now = datetime.now(UTC)
    expires = now + timedelta(seconds=overlap_seconds)
    result = await session.execute(
        update(vendor_secret)
        .where(
            vendor_secret.c.vendor_id == vendor_id,
            or_(vendor_secret.c.expires_at.is_(None), vendor_secret.c.expires_at > expires),
        )
        .values(expires_at=expires)
        .returning(vendor_secret.c.id)
    )
    previous = result.scalars().all()
    secret = new_secret()
    secret_id = str(uuid.uuid4())
    await session.execute(
        vendor_secret.insert().values(
            id=secret_id, vendor_id=vendor_id, ciphertext=_fernet(key).encrypt(secret.encode()).decode(), created_at=now
        )
    )
    return secret_id, secret, now, (expires if previous else None)


async def valid_secrets(*, session: AsyncSession, vendor_id: str, key: str) -> list[str]:
    """Newest first."""
    now = datetime.now(UTC)
    rows = await session.execute(
        select(vendor_secret.c.ciphertext)
        .where(
            vendor_secret.c.vendor_id == vendor_id,
            or_(vendor_secret.c.expires_at.is_(None), vendor_secret.c.expires_at > now),
        )
        .order_by(vendor_secret.c.created_at.desc())
    )
    fernet = _fernet(key)
    return [fernet.decrypt(c.encode()).decode() for c in rows.scalars().all()]
