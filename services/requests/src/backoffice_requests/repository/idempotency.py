"""The ``Idempotency-Key`` store: one row per user and key, holding the answer once the command ran."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backoffice_common.db import driver_connection


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
        until the first transaction ends. Raw asyncpg on the session's connection and transaction (every
        command with the header runs it), as ``stored`` and ``store``."""
        conn = await driver_connection(self.session)
        claimed = await conn.fetchval(
            "INSERT INTO idempotency_record (user_id, key, fingerprint) VALUES ($1, $2, $3)"
            " ON CONFLICT (user_id, key) DO NOTHING RETURNING key",
            user_id,
            key,
            fingerprint,
        )
        return claimed is not None

    async def stored(self, *, user_id: str, key: str) -> StoredAnswer:
        conn = await driver_connection(self.session)
        row = await conn.fetchrow(
            "SELECT fingerprint, status_code, body, headers FROM idempotency_record WHERE user_id = $1 AND key = $2",
            user_id,
            key,
        )
        if row is None:
            raise LookupError(f"no Idempotency-Key {key!r} of {user_id}")
        return StoredAnswer(row["fingerprint"], row["status_code"], row["body"], row["headers"] or {})

    async def store(
        self, *, user_id: str, key: str, status_code: int, body: dict[str, Any], headers: dict[str, str]
    ) -> None:
        conn = await driver_connection(self.session)
        await conn.execute(
            "UPDATE idempotency_record SET status_code = $3, body = $4::jsonb, headers = $5::jsonb"
            " WHERE user_id = $1 AND key = $2",
            user_id,
            key,
            status_code,
            json.dumps(body),
            json.dumps(headers),
        )
