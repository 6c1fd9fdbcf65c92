"""Reading and writing contracts; no commits here (the unit of work's owner commits)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice_contracts.domain.contract import Contract, Party, Signature, SigningOrder, Status
from backoffice_contracts.models import contract, contract_signature, contract_template, signature_refusal, vendor


async def get_row(session: AsyncSession, contract_id: str, *, for_update: bool = False) -> dict[str, Any] | None:
    stmt = select(contract).where(contract.c.id == contract_id)
    if for_update:
        stmt = stmt.with_for_update()
    row = (await session.execute(stmt)).mappings().first()
    return dict(row) if row else None


async def signatures(session: AsyncSession, contract_id: str) -> list[dict[str, Any]]:
    rows = await session.execute(
        select(contract_signature)
        .where(contract_signature.c.contract_id == contract_id)
        .order_by(contract_signature.c.signed_at)
    )
    return [dict(r) for r in rows.mappings()]


async def refusals(session: AsyncSession, contract_id: str) -> list[dict[str, Any]]:
    rows = await session.execute(
        select(signature_refusal)
        .where(signature_refusal.c.contract_id == contract_id)
        .order_by(signature_refusal.c.refused_at)
    )
    return [dict(r) for r in rows.mappings()]


def to_domain(row: dict[str, Any], signature_rows: list[dict[str, Any]]) -> Contract:
    return Contract(
        id=row["id"],
        request_id=row["request_id"],
        revision=row["revision"],
        vendor_id=row["vendor_id"],
        status=Status(row["status"]),
        signing_order=SigningOrder(row["signing_order"]),
        document_sha256=row["document_sha256"],
        expires_at=row["expires_at"],
        signatures=[
            Signature(
                party=Party(s["party"]),
                signer_id=s["signer_id"],
                signer_name=s["signer_name"],
                signer_email=s["signer_email"],
                role=s["role"],
                document_sha256=s["document_sha256"],
                signed_at=s["signed_at"],
                client_ip=s["client_ip"],
                user_agent=s["user_agent"],
                channel=s["channel"],
            )
            for s in signature_rows
        ],
    )


async def latest_template(session: AsyncSession, language: str) -> dict[str, Any] | None:
    row = (
        (
            await session.execute(
                select(contract_template)
                .where(contract_template.c.language == language)
                .order_by(contract_template.c.version.desc())
                .limit(1)
            )
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


async def next_template_version(session: AsyncSession, language: str) -> int:
    current = await session.scalar(
        select(func.max(contract_template.c.version)).where(contract_template.c.language == language)
    )
    return int(current or 0) + 1


async def upsert_vendor(session: AsyncSession, values: dict[str, Any]) -> None:
    """Keep the newest vendor record; an older one arriving late changes nothing."""
    stmt = pg_insert(vendor).values(**values)
    stmt = stmt.on_conflict_do_update(
        index_elements=[vendor.c.vendor_id],
        set_={k: stmt.excluded[k] for k in values if k != "vendor_id"},
        where=vendor.c.updated_at <= stmt.excluded.updated_at,
    )
    await session.execute(stmt)


async def get_vendor(session: AsyncSession, vendor_id: str) -> dict[str, Any] | None:
    row = (await session.execute(select(vendor).where(vendor.c.vendor_id == vendor_id))).mappings().first()
    return dict(row) if row else None
