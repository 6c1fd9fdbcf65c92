"""Read queries of the API: tasks with their chain, a request's chains (``task_lists`` pages ``GET /tasks``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice_approvals.models import approval_chain, approval_task


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
