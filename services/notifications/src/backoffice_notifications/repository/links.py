"""Signed vendor links (vendor_link): the row makes a link single-use.

A link's insert (one per order and per contract sent) and its read (every page a vendor opens) run on raw
asyncpg through ``driver_connection`` (the session's connection and transaction)."""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime

from sqlalchemy import update

from backoffice_common.db import driver_connection
from backoffice_notifications.domain.links import Link
from backoffice_notifications.models import vendor_link
from backoffice_notifications.repository.base import Repository

_GET_SQL = "SELECT {} FROM vendor_link WHERE id = $1".format(", ".join(f.name for f in fields(Link)))  # noqa: S608 (column names only)
_ADD_SQL = (
    "INSERT INTO vendor_link (id, purpose, request_id, revision, vendor_id, contract_id, expires_at)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7)"
)


class LinkRepository(Repository):
    async def add(self, link: Link) -> None:
        conn = await driver_connection(self.session)
        await conn.execute(
            _ADD_SQL,
            link.id,
            link.purpose,
            link.request_id,
            link.revision,
            link.vendor_id,
            link.contract_id,
            link.expires_at,
        )

    async def get(self, link_id: str, *, lock: bool = False) -> Link | None:
        conn = await driver_connection(self.session)
        row = await conn.fetchrow(_GET_SQL + " FOR UPDATE" if lock else _GET_SQL, link_id)
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
