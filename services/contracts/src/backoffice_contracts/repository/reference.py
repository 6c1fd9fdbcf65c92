"""Templates, the vendor read model and the cancelled requests: the reference data contracts are made from.

What every order reads or writes (the active template, the vendor's upsert and read, the cancellation check,
the approvers' record and read) runs on raw asyncpg through ``driver_connection`` (the session's connection
and transaction); the administration of templates stays on SQLAlchemy Core.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice_common.db import driver_connection
from backoffice_contracts.models import contract_template, vendor

_ACTIVE_TEMPLATE_SQL = (
    "SELECT id::text AS id, language, version, body, description, created_by, created_at, activated_by,"
    " activated_at FROM contract_template WHERE language = $1 AND activated_at IS NOT NULL"
    " ORDER BY version DESC LIMIT 1"
)
_VENDOR_COLUMNS = [c.name for c in vendor.c]
_VENDOR_SQL = (
    "SELECT vendor_id::text AS vendor_id, "  # noqa: S608 (column names of the model)
    + ", ".join(c for c in _VENDOR_COLUMNS if c != "vendor_id")
    + " FROM vendor WHERE vendor_id = $1"
)
_JSONB = {"contact_emails", "credential_administrators"}


class TemplateRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def active(self, language: str) -> dict[str, Any] | None:
        """The version contracts are rendered with: the newest activated one."""
        row = await (await driver_connection(self._session)).fetchrow(_ACTIVE_TEMPLATE_SQL, language)
        return dict(row) if row else None

    async def active_versions(self) -> dict[str, int]:
        """language -> the version in use."""
        stmt = (
            select(contract_template.c.language, func.max(contract_template.c.version))
            .where(contract_template.c.activated_at.is_not(None))
            .group_by(contract_template.c.language)
        )
        return {language: int(version) for language, version in (await self._session.execute(stmt)).all()}

    async def get(self, language: str, version: int, *, for_update: bool = False) -> dict[str, Any] | None:
        stmt = select(contract_template).where(
            contract_template.c.language == language, contract_template.c.version == version
        )
        return await self._first(stmt.with_for_update() if for_update else stmt)

    async def lock_language(self, language: str) -> None:
        """Serialise uploads and activations of one language (until the transaction ends)."""
        await self._session.execute(
            select(func.pg_advisory_xact_lock(func.hashtextextended(f"contract_template:{language}", 0)))
        )

    async def activate(self, *, language: str, version: int, activated_by: str, at: datetime) -> None:
        await self._session.execute(
            contract_template.update()
            .where(contract_template.c.language == language, contract_template.c.version == version)
            .values(activated_by=activated_by, activated_at=at)
        )

    async def all(self) -> list[dict[str, Any]]:
        stmt = select(contract_template).order_by(contract_template.c.language, contract_template.c.version)
        return [dict(r) for r in (await self._session.execute(stmt)).mappings()]

    async def add_version(self, *, language: str, body: str, description: str, created_by: str) -> dict[str, Any]:
        """The next version of ``language``'s template; returns the row written (without ``created_at``)."""
        current = await self._session.scalar(
            select(func.max(contract_template.c.version)).where(contract_template.c.language == language)
        )
        values = {
            "id": str(uuid.uuid4()),
            "language": language,
            "version": int(current or 0) + 1,
            "body": body,
            "description": description,
            "created_by": created_by,
        }
        await self._session.execute(contract_template.insert().values(**values))
        return values

    async def _first(self, stmt: Any) -> dict[str, Any] | None:
        row = (await self._session.execute(stmt)).mappings().first()
        return dict(row) if row else None


class VendorRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def upsert(self, values: dict[str, Any]) -> None:
        """Keep the newest vendor record; an older one arriving late changes nothing."""
        names = list(values)
        if not set(names) <= set(_VENDOR_COLUMNS):
            raise ValueError(f"not columns of vendor: {sorted(set(names) - set(_VENDOR_COLUMNS))}")
        cast = [f"${i + 1}::jsonb" if n in _JSONB else f"${i + 1}" for i, n in enumerate(names)]
        sql = (
            f"INSERT INTO vendor ({', '.join(names)}) VALUES ({', '.join(cast)})"  # noqa: S608 (the model's columns)
            " ON CONFLICT (vendor_id) DO UPDATE SET "
            + ", ".join(f"{n} = excluded.{n}" for n in names if n != "vendor_id")
            + " WHERE vendor.updated_at <= excluded.updated_at"
        )
        args = [json.dumps(values[n]) if n in _JSONB else values[n] for n in names]
        await (await driver_connection(self._session)).execute(sql, *args)

    async def get(self, vendor_id: str) -> dict[str, Any] | None:
        row = await (await driver_connection(self._session)).fetchrow(_VENDOR_SQL, vendor_id)
        return dict(row) if row else None


class CancellationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def record(self, *, request_id: str, revision: int, reason: str) -> None:
        """Remember a cancelled request (once), so a late acceptance generates nothing."""
        await (await driver_connection(self._session)).execute(
            "INSERT INTO cancelled_request (request_id, revision, reason) VALUES ($1, $2, $3)"
            " ON CONFLICT (request_id) DO NOTHING",
            request_id,
            revision,
            reason[:2000],
        )

    async def is_cancelled(self, request_id: str) -> bool:
        found = await (await driver_connection(self._session)).fetchval(
            "SELECT true FROM cancelled_request WHERE request_id = $1", request_id
        )
        return found is not None


class ApprovalRepository:
    """``request_approval``: who approved which chain of a request, read from ``purchase_request.approved``."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def record(
        self, *, request_id: str, chain_id: str, revision: int, approver_ids: list[str], approved_at: datetime
    ) -> None:
        await (await driver_connection(self._session)).execute(
            "INSERT INTO request_approval (request_id, chain_id, revision, approver_ids, approved_at)"
            " VALUES ($1, $2, $3, $4::jsonb, $5) ON CONFLICT (request_id, chain_id) DO NOTHING",
            request_id,
            chain_id,
            revision,
            json.dumps(approver_ids),
            approved_at,
        )

    async def approvers(self, request_id: str) -> frozenset[str] | None:
        """Everyone who approved any chain of the request; None when no approval was read yet."""
        rows = await (await driver_connection(self._session)).fetch(
            "SELECT approver_ids FROM request_approval WHERE request_id = $1", request_id
        )
        found = [list(row["approver_ids"]) for row in rows]
        return frozenset(i for ids in found for i in ids) if found else None
