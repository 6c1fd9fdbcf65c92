"""Transfers between budgets (the movements themselves are in the ledger)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice_budgets.models import transfer


class TransferRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(
        self, *, transfer_id: str, source: str, target: str, amount: Decimal, currency: str, reason: str, actor: str
    ) -> None:
        await self.session.execute(
            insert(transfer).values(
                id=transfer_id,
                from_budget_id=source,
                to_budget_id=target,
                amount=amount,
                currency=currency,
                reason=reason,
                actor_id=actor,
            )
        )

    async def get(self, transfer_id: str) -> Any | None:
        return (await self.session.execute(select(transfer).where(transfer.c.id == transfer_id))).first()

    async def list(self, *, budget_id: str | None, limit: int) -> Sequence[Any]:
        stmt = select(transfer)
        if budget_id is not None:
            stmt = stmt.where(or_(transfer.c.from_budget_id == budget_id, transfer.c.to_budget_id == budget_id))
        return (await self.session.execute(stmt.order_by(transfer.c.created_at.desc()).limit(limit))).all()
