"""Read queries of the API: tasks with their chain, an approver's inbox, a request's chains."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice_approvals.models import absence, approval_chain, approval_task


async def task_row(*, session: AsyncSession, task_id: str) -> Any:
    return (await session.execute(select(approval_task).where(approval_task.c.id == task_id))).first()


async def chain_row(*, session: AsyncSession, chain_id: str) -> Any:
    return (await session.execute(select(approval_chain).where(approval_chain.c.id == chain_id))).one()


async def chain_rows_of_request(*, session: AsyncSession, request_id: str) -> list[Any]:
    query = select(approval_chain).where(approval_chain.c.request_id == request_id).order_by(approval_chain.c.revision)
    return list((await session.execute(query)).all())


async def task_rows_of_chains(*, session: AsyncSession, chain_ids: list[str]) -> list[Any]:
    query = select(approval_task).where(approval_task.c.chain_id.in_(chain_ids)).order_by(approval_task.c.created_at)
    return list((await session.execute(query)).all())


async def inbox_rows(*, session: AsyncSession, user_id: str, now: datetime) -> list[Any]:
    """Open tasks assigned to the user, or to someone who is away and named the user as delegate."""
    away_for_me = select(absence.c.user_id).where(
        absence.c.delegate_id == user_id,
        absence.c.cancelled_at.is_(None),
        absence.c.starts_at <= now,
        absence.c.ends_at > now,
    )
    query = (
        select(approval_task, approval_chain.c.snapshot)
        .join(approval_chain, approval_chain.c.id == approval_task.c.chain_id)
        .where(
            approval_task.c.status == "open",
            or_(approval_task.c.assignee_id == user_id, approval_task.c.assignee_id.in_(away_for_me)),
        )
        .order_by(approval_task.c.due_at)
    )
    return list((await session.execute(query)).all())
