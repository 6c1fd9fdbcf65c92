"""The budget-check read model (``budget_check``) and submissions waiting for it (``pending_route``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice_approvals.domain.budget import BudgetCheck
from backoffice_approvals.models import budget_check, pending_route


class BudgetCheckRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def lock_request(self, request_id: str) -> None:
        """Serialise this transaction with any other about the same request's budget check
        (a submission and its check arrive on two topics, possibly at once)."""
        await self.session.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(request_id, 17))))

    async def record(self, *, request_id: str, revision: int, check: BudgetCheck, event_id: str) -> bool:
        """Store a revision's check; False when one was stored already (the first one stays)."""
        values = check.as_dict()
        stmt = (
            insert(budget_check)
            .values(request_id=request_id, revision=revision, event_id=event_id, **values)
            .on_conflict_do_nothing(index_elements=["request_id", "revision"])
            .returning(budget_check.c.request_id)
        )
        return (await self.session.execute(stmt)).first() is not None

    async def get(self, request_id: str, revision: int) -> BudgetCheck | None:
        query = select(budget_check).where(budget_check.c.request_id == request_id, budget_check.c.revision == revision)
        row = (await self.session.execute(query)).first()
        return BudgetCheck.from_dict(dict(row._mapping)) if row else None


class PendingRouteRepository:
    """Submitted revisions whose chain start waits for the budget check."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(
        self, *, id: str, request_id: str, revision: int, snapshot: dict[str, Any], submitted_event: dict[str, Any]
    ) -> None:
        await self.session.execute(
            insert(pending_route)
            .values(id=id, request_id=request_id, revision=revision, snapshot=snapshot, submitted_event=submitted_event)
            .on_conflict_do_nothing(index_elements=["request_id", "revision"])
        )

    async def take(self, *, request_id: str, revision: int) -> Any:
        """The waiting submission of this revision, removed (locked until commit); None if none waits."""
        stmt = (
            delete(pending_route)
            .where(pending_route.c.request_id == request_id, pending_route.c.revision == revision)
            .returning(pending_route)
        )
        return (await self.session.execute(stmt)).first()

    async def peek(self, pending_id: str) -> Any:
        return (await self.session.execute(select(pending_route).where(pending_route.c.id == pending_id))).first()

    async def take_by_id(self, pending_id: str) -> Any:
        stmt = delete(pending_route).where(pending_route.c.id == pending_id).returning(pending_route)
        return (await self.session.execute(stmt)).first()

    async def drop(self, *, request_id: str, up_to_revision: int) -> int:
        """Forget the waiting submissions of a request up to a revision (revised or cancelled)."""
        stmt = (
            delete(pending_route)
            .where(pending_route.c.request_id == request_id, pending_route.c.revision <= up_to_revision)
            .returning(pending_route.c.id)
        )
        return len((await self.session.execute(stmt)).all())
