"""Templates, the vendor read model and the cancelled requests: the reference data contracts are made from."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice_contracts.models import cancelled_request, contract_template, request_approval, vendor


class TemplateRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def active(self, language: str) -> dict[str, Any] | None:
        """The version contracts are rendered with: the newest activated one."""
        stmt = (
            select(contract_template)
            .where(contract_template.c.language == language, contract_template.c.activated_at.is_not(None))
            .order_by(contract_template.c.version.desc())
            .limit(1)
        )
        return await self._first(stmt)

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
        stmt = pg_insert(vendor).values(**values)
        stmt = stmt.on_conflict_do_update(
            index_elements=[vendor.c.vendor_id],
            set_={k: stmt.excluded[k] for k in values if k != "vendor_id"},
            where=vendor.c.updated_at <= stmt.excluded.updated_at,
        )
        await self._session.execute(stmt)

    async def get(self, vendor_id: str) -> dict[str, Any] | None:
        row = (await self._session.execute(select(vendor).where(vendor.c.vendor_id == vendor_id))).mappings().first()
        return dict(row) if row else None


class CancellationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def record(self, *, request_id: str, revision: int, reason: str) -> None:
        """Remember a cancelled request (once), so a late acceptance generates nothing."""
        await self._session.execute(
            pg_insert(cancelled_request)
            .values(request_id=request_id, revision=revision, reason=reason[:2000])
            .on_conflict_do_nothing(index_elements=["request_id"])
        )

    async def is_cancelled(self, request_id: str) -> bool:
        found = await self._session.scalar(
            select(cancelled_request.c.request_id).where(cancelled_request.c.request_id == request_id)
        )
        return found is not None


class ApprovalRepository:
    """``request_approval``: who approved which chain of a request, read from ``purchase_request.approved``."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def record(
        self, *, request_id: str, chain_id: str, revision: int, approver_ids: list[str], approved_at: datetime
    ) -> None:
        await self._session.execute(
            pg_insert(request_approval)
            .values(
                request_id=request_id,
                chain_id=chain_id,
                revision=revision,
                approver_ids=approver_ids,
                approved_at=approved_at,
            )
            .on_conflict_do_nothing(index_elements=["request_id", "chain_id"])
        )

    async def approvers(self, request_id: str) -> frozenset[str] | None:
        """Everyone who approved any chain of the request; None when no approval was read yet."""
        rows = (
            await self._session.execute(
                select(request_approval.c.approver_ids).where(request_approval.c.request_id == request_id)
            )
        ).scalars()
        found = [list(ids) for ids in rows]
        return frozenset(i for ids in found for i in ids) if found else None
