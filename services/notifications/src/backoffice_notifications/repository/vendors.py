"""The vendor directory and the vendors' encrypted webhook secrets."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select, update

from backoffice_common.db import driver_connection
from backoffice_notifications.domain.vendors import CHANGEABLE, Vendor
from backoffice_notifications.models import vendor, vendor_secret
from backoffice_notifications.repository.base import Repository


@dataclass(frozen=True)
class StoredSecret:
    """A secret row as its one-time retrieval link needs it."""

    id: str
    vendor_id: str
    ciphertext: str
    retrieval_expires_at: datetime | None
    retrieved_at: datetime | None


def _vendor(row: Any, prefix: str = "") -> Vendor:
    return Vendor(
        id=row[prefix + "id"],
        legal_name=row[prefix + "legal_name"],
        address=row[prefix + "address"],
        contact_emails=list(row[prefix + "contact_emails"]),
        language=row[prefix + "language"],
        webhook_url=row[prefix + "webhook_url"],
        status=row[prefix + "status"],
        created_at=row[prefix + "created_at"],
        updated_at=row[prefix + "updated_at"],
        credential_administrators=list(row[prefix + "credential_administrators"]),
    )


JOINED_PREFIX = "joined_vendor__"
"""The prefix of the vendor's columns in a statement of another repository that joins ``vendor`` (``joined``)."""


def joined_columns(alias: str) -> str:
    """The vendor's columns of the table aliased ``alias``, each named with ``JOINED_PREFIX``."""
    return ", ".join(f"{alias}.{c.name} AS {JOINED_PREFIX}{c.name}" for c in vendor.c)


def joined(row: Any) -> Vendor | None:
    """The vendor of a row with ``joined_columns`` (None when the join found none)."""
    return None if row[JOINED_PREFIX + "id"] is None else _vendor(row, JOINED_PREFIX)


_GET_SQL = "SELECT {} FROM vendor WHERE id = $1".format(", ".join(c.name for c in vendor.c))  # noqa: S608 (column names only)
_GET_FOR_UPDATE_SQL = _GET_SQL + " FOR UPDATE"
# The vendor and its unexpired secrets' ciphertexts (newest first) in one statement: every webhook a vendor sends.
_SECRETS_OF_VENDOR = (
    "ARRAY(SELECT s.ciphertext FROM vendor_secret s WHERE s.vendor_id = vendor.id"
    " AND (s.expires_at IS NULL OR s.expires_at > $2) ORDER BY s.created_at DESC) AS secret_ciphertexts"
)
_GET_WITH_SECRETS_SQL = "SELECT {}, {} FROM vendor WHERE id = $1".format(  # noqa: S608 (column names only)
    ", ".join(c.name for c in vendor.c), _SECRETS_OF_VENDOR
)


def _unexpired(now: datetime) -> Any:
    return or_(vendor_secret.c.expires_at.is_(None), vendor_secret.c.expires_at > now)


class VendorRepository(Repository):
    async def get(self, vendor_id: str | None, *, lock: bool = False) -> Vendor | None:
        """The vendor; with ``lock``, its row is locked until the transaction ends (a change reads what the
        previous change wrote, so no credential administrator is lost to a concurrent edit)."""
        if not vendor_id:
            return None
        conn = await driver_connection(self.session)  # raw asyncpg: read on every order, answer and signature
        row = await conn.fetchrow(_GET_FOR_UPDATE_SQL if lock else _GET_SQL, vendor_id)
        if row is None:
            return None
        found = _vendor(row)
        self.track(found)
        return found

    async def get_with_secrets(self, vendor_id: str, *, now: datetime) -> tuple[Vendor | None, list[str]]:
        """The vendor (as ``get``) and the ciphertexts of its secrets unexpired at ``now``, newest first (as
        ``active_secret_ciphertexts``), in one statement; ``(None, [])`` for an unknown vendor."""
        conn = await driver_connection(self.session)  # raw asyncpg: every webhook a vendor sends
        row = await conn.fetchrow(_GET_WITH_SECRETS_SQL, vendor_id, now)
        if row is None:
            return None, []
        found = _vendor(row)
        self.track(found)
        return found, list(row["secret_ciphertexts"])

    async def add(self, new: Vendor) -> None:
        values = {k: getattr(new, k) for k in CHANGEABLE}
        await self.session.execute(
            vendor.insert().values(id=new.id, **values, created_at=new.created_at, updated_at=new.updated_at)
        )
        self.track(new)

    async def save(self, changed: Vendor) -> None:
        values = {k: getattr(changed, k) for k in CHANGEABLE}
        await self.session.execute(
            vendor.update()
            .where(vendor.c.id == changed.id)
            .values(
                **values,
                updated_at=changed.updated_at,
                credential_administrators=list(changed.credential_administrators),
            )
        )

    async def page_ids(self, *, limit: int, offset: int) -> list[str]:
        query = select(vendor.c.id).order_by(vendor.c.legal_name).limit(limit).offset(offset)
        return list((await self.session.execute(query)).scalars().all())

    async def count_active_secrets(self, vendor_id: str, *, now: datetime) -> int:
        count = await self.session.scalar(
            select(func.count())
            .select_from(vendor_secret)
            .where(vendor_secret.c.vendor_id == vendor_id, _unexpired(now))
        )
        return int(count or 0)

    async def expire_secrets(self, vendor_id: str, *, at: datetime) -> list[str]:
        """Secrets valid beyond ``at`` now end at ``at``; the ids of those changed."""
        result = await self.session.execute(
            update(vendor_secret)
            .where(vendor_secret.c.vendor_id == vendor_id, _unexpired(at))
            .values(expires_at=at)
            .returning(vendor_secret.c.id)
        )
        return list(result.scalars().all())

    async def add_secret(
        self,
        *,
        secret_id: str,
        vendor_id: str,
        ciphertext: str,
        created_at: datetime,
        retrieval_expires_at: datetime | None = None,
    ) -> None:
        await self.session.execute(
            vendor_secret.insert().values(
                id=secret_id,
                vendor_id=vendor_id,
                ciphertext=ciphertext,
                created_at=created_at,
                retrieval_expires_at=retrieval_expires_at,
            )
        )

    async def secret_for_retrieval(self, secret_id: str, *, lock: bool = False) -> StoredSecret | None:
        query = select(vendor_secret).where(vendor_secret.c.id == secret_id)
        row = (await self.session.execute(query.with_for_update() if lock else query)).mappings().first()
        if row is None:
            return None
        return StoredSecret(
            id=row["id"],
            vendor_id=row["vendor_id"],
            ciphertext=row["ciphertext"],
            retrieval_expires_at=row["retrieval_expires_at"],
            retrieved_at=row["retrieved_at"],
        )

    async def mark_retrieved(self, secret_id: str, *, at: datetime) -> None:
        await self.session.execute(update(vendor_secret).where(vendor_secret.c.id == secret_id).values(retrieved_at=at))

    async def all_secret_ciphertexts(self) -> list[tuple[str, str]]:
        """Every stored secret (id, ciphertext), expired ones too: a key rotation re-encrypts them all."""
        rows = await self.session.execute(select(vendor_secret.c.id, vendor_secret.c.ciphertext).with_for_update())
        return [(str(row.id), row.ciphertext) for row in rows]

    async def set_secret_ciphertext(self, secret_id: str, ciphertext: str) -> None:
        await self.session.execute(
            update(vendor_secret).where(vendor_secret.c.id == secret_id).values(ciphertext=ciphertext)
        )

    async def active_secret_ciphertexts(self, vendor_id: str, *, now: datetime) -> list[str]:
        """Newest first."""
        conn = await driver_connection(self.session)  # raw asyncpg: every webhook a vendor sends
        rows = await conn.fetch(
            "SELECT ciphertext FROM vendor_secret WHERE vendor_id = $1 AND (expires_at IS NULL OR expires_at > $2)"
            " ORDER BY created_at DESC",
            vendor_id,
            now,
        )
        return [row["ciphertext"] for row in rows]
