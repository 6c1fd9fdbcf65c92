"""The ``Idempotency-Key`` store: one row per user and key, holding the answer once the command ran."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice_requests.models import idempotency_record


@dataclass(frozen=True)
class StoredAnswer:
    fingerprint: str
    status_code: int
    body: dict[str, Any]
    headers: dict[str, str]


class IdempotencyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def claim(self, *, user_id: str, key: str, fingerprint: str) -> bool:
        """Insert the key; False when it exists. A concurrent claim of the same key waits on this insert
        until the first transaction ends."""
        t = idempotency_record
        claimed = await self.session.scalar(
            pg_insert(t)
            .values(user_id=user_id, key=key, fingerprint=fingerprint)
            .on_conflict_do_nothing(index_elements=["user_id", "key"])
            .returning(t.c.key)
        )
        return claimed is not None

    async def stored(self, *, user_id: str, key: str) -> StoredAnswer:
        t = idempotency_record
        row = (await self.session.execute(select(t).where(t.c.user_id == user_id, t.c.key == key))).mappings().one()
        return StoredAnswer(row["fingerprint"], row["status_code"], row["body"], row["headers"] or {})

    async def store(
        self, *, user_id: str, key: str, status_code: int, body: dict[str, Any], headers: dict[str, str]
    ) -> None:
        t = idempotency_record
        await self.session.execute(
            update(t)
            .where(t.c.user_id == user_id, t.c.key == key)
            .values(status_code=status_code, body=body, headers=headers)
        )
