"""Signed vendor links (vendor_link): the row makes a link single-use."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update

from backoffice_notifications.domain.links import Link
from backoffice_notifications.models import vendor_link
from backoffice_notifications.repository.base import Repository


class LinkRepository(Repository):
    async def add(self, link: Link) -> None:
        await self.session.execute(
            vendor_link.insert().values(
                id=link.id,
                purpose=link.purpose,
                request_id=link.request_id,
                revision=link.revision,
                vendor_id=link.vendor_id,
                contract_id=link.contract_id,
                expires_at=link.expires_at,
            )
        )

    async def get(self, link_id: str, *, lock: bool = False) -> Link | None:
        query = select(vendor_link).where(vendor_link.c.id == link_id)
        if lock:
            query = query.with_for_update()
        row = (await self.session.execute(query)).mappings().first()
        if row is None:
            return None
        return Link(**{k: row[k] for k in Link.__dataclass_fields__})

    async def save(self, link: Link) -> None:
        await self.session.execute(vendor_link.update().where(vendor_link.c.id == link.id).values(used_at=link.used_at))

    async def revoke_for_vendor(self, vendor_id: str, *, at: datetime) -> int:
        """Every unused, unexpired, not yet withdrawn link of the vendor is withdrawn; how many."""
        result = await self.session.execute(
            update(vendor_link)
            .where(
                vendor_link.c.vendor_id == vendor_id,
                vendor_link.c.used_at.is_(None),
                vendor_link.c.revoked_at.is_(None),
                vendor_link.c.expires_at > at,
            )
            .values(revoked_at=at)
            .returning(vendor_link.c.id)
        )
        return len(result.scalars().all())
