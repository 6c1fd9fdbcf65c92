"""``Idempotency-Key`` on POST, shared by the services whose commands take one (requests, notifications).

The same key and fingerprint (method, path and canonical body) replay the stored answer with
``Idempotent-Replayed: true``; the same key with another request gets 422 ``idempotency-key-reused``.

The key row is inserted first, in the command's own transaction: a concurrent request with the same key
waits on that insert and then replays the committed answer. The command stores its answer just before it
commits, so the change and its answer are one transaction. A command that fails rolls back, key included,
so a corrected retry with the same key is allowed. Keys belong to the user (``sub``); each service keeps
them in its own ``idempotency_record`` table (``idempotency_table``) and forgets them by a retention rule.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Annotated, Any

from fastapi import Header, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Column, DateTime, Index, Integer, MetaData, PrimaryKeyConstraint, String, Table, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice_common.db import driver_connection
from backoffice_common.errors import AppError, ErrorMap, ProblemType
from backoffice_common.retention import Retention

TABLE = "idempotency_record"

IdempotencyKey = Annotated[
    str | None,
    Header(alias="Idempotency-Key", min_length=1, max_length=200, pattern=r"^[\x21-\x7e]+$"),
]
"""The optional header: 1-200 printable ASCII characters."""


class IdempotencyKeyReused(AppError):
    """The key was used before for another request (another method, path or body)."""


IDEMPOTENCY_ERRORS: ErrorMap = {
    IdempotencyKeyReused: ProblemType(422, "Idempotency-Key reused", "idempotency-key-reused"),
}


def idempotency_table(metadata: MetaData) -> Table:
    """The service's store of keys and answers (its migration creates the same table)."""
    return Table(
        TABLE,
        metadata,
        Column("user_id", String(200), nullable=False),
        Column("key", String(200), nullable=False),
        Column("fingerprint", String(64), nullable=False),
        Column("status_code", Integer, nullable=True),
        Column("body", JSONB, nullable=True),
        Column("headers", JSONB, nullable=True),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        PrimaryKeyConstraint("user_id", "key"),
        Index("ix_idempotency_record_created_at", "created_at"),
    )


def idempotency_retention(keep: timedelta) -> Retention:
    """Keys and their answers are forgotten ``keep`` after they were first used."""
    return Retention("idempotency_keys", TABLE, "created_at", keep)


@dataclass
class Reply:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)

    def response(self) -> JSONResponse:
        return JSONResponse(self.body, status_code=self.status, headers=self.headers)


@dataclass(frozen=True)
class StoredAnswer:
    fingerprint: str
    status_code: int
    body: dict[str, Any]
    headers: dict[str, str]


def fingerprint(request: Request, payload: Any) -> str:
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{request.method} {request.url.path}\n{canonical}".encode()).hexdigest()


class IdempotencyStore:
    """One row per user and key, holding the answer once the command ran. Raw asyncpg on the session's
    connection and transaction (every command with the header runs it)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def claim(self, *, user_id: str, key: str, fingerprint: str) -> bool:
        """Insert the key; False when it exists. A concurrent claim of the same key waits on this insert
        until the first transaction ends."""
        conn = await driver_connection(self.session)
        claimed = await conn.fetchval(
            f"INSERT INTO {TABLE} (user_id, key, fingerprint) VALUES ($1, $2, $3)"  # noqa: S608
            " ON CONFLICT (user_id, key) DO NOTHING RETURNING key",
            user_id,
            key,
            fingerprint,
        )
        return claimed is not None

    async def stored(self, *, user_id: str, key: str) -> StoredAnswer:
        conn = await driver_connection(self.session)
        row = await conn.fetchrow(
            f"SELECT fingerprint, status_code, body, headers FROM {TABLE} WHERE user_id = $1 AND key = $2",  # noqa: S608
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
            f"UPDATE {TABLE} SET status_code = $3, body = $4::jsonb, headers = $5::jsonb"  # noqa: S608
            " WHERE user_id = $1 AND key = $2",
            user_id,
            key,
            status_code,
            json.dumps(body),
            json.dumps(headers),
        )

    async def replay_or_claim(self, *, user_id: str, key: str, request: Request, payload: Any) -> JSONResponse | None:
        """The stored answer of a key used before for this request (``Idempotent-Replayed: true``), or None
        once the key is claimed for this transaction: run the command, then ``store`` its answer before the
        commit. ``IdempotencyKeyReused`` for a key used before for another request."""
        digest = fingerprint(request, payload)
        if await self.claim(user_id=user_id, key=key, fingerprint=digest):
            return None
        stored = await self.stored(user_id=user_id, key=key)
        if stored.fingerprint != digest:
            raise IdempotencyKeyReused(
                "this Idempotency-Key was already used for another request; use a new key for a new request"
            )
        headers = {**stored.headers, "Idempotent-Replayed": "true"}
        return JSONResponse(stored.body, status_code=stored.status_code, headers=headers)
