"""Timers (``approval_timer``): reminders, escalations and absence starts kept in the database."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from backoffice_approvals.models import approval_timer
from backoffice_common.db import driver_connection, read_connection

TASK_TIMER_KINDS = ("reminder", "escalation")

_SCHEDULE_SQL = (
    "INSERT INTO approval_timer (kind, ref_id, fire_at) VALUES ($1, $2, $3) ON CONFLICT (kind, ref_id) DO NOTHING"
)
_CLOSE_FOR_TASK_SQL = (
    "UPDATE approval_timer SET fired_at = $2 WHERE kind = ANY($3::text[]) AND ref_id = $1 AND fired_at IS NULL"
)
_MARK_FIRED_SQL = "UPDATE approval_timer SET fired_at = $2 WHERE id = $1"


async def schedule(*, session: AsyncSession, kind: str, ref_id: str, fire_at: datetime) -> None:
    """Raw asyncpg on the session's connection and transaction: every assigned task schedules two."""
    conn = await driver_connection(session)
    await conn.execute(_SCHEDULE_SQL, kind, ref_id, fire_at)


class DueTimer(NamedTuple):
    id: int
    kind: str
    ref_id: str
    fire_at: datetime
    attempts: int


_CLAIM_DUE_SQL = (
    "SELECT id, kind, ref_id, fire_at, attempts FROM approval_timer WHERE fired_at IS NULL AND fire_at <= $1"
    " ORDER BY fire_at LIMIT $2 FOR UPDATE SKIP LOCKED"
)


async def claim_due_timers(*, session: AsyncSession, now: datetime, limit: int) -> list[DueTimer]:
    """Due timers locked for this transaction; other instances skip them (SKIP LOCKED). Raw asyncpg on
    the session's connection and transaction (the timer job runs it for every timer it fires)."""
    conn = await driver_connection(session)
    return [DueTimer(*row) for row in await conn.fetch(_CLAIM_DUE_SQL, now, limit)]


async def next_due_at(*, session: AsyncSession) -> datetime | None:
    """When the earliest timer not yet fired falls due (the partial index ``ix_approval_timer_due``)."""
    query = select(func.min(approval_timer.c.fire_at)).where(approval_timer.c.fired_at.is_(None))
    due: datetime | None = (await session.execute(query)).scalar_one_or_none()
    return due


_NEXT_DUE_SQL = "SELECT min(fire_at) FROM approval_timer WHERE fired_at IS NULL"


async def next_due_at_now(engine: AsyncEngine) -> datetime | None:
    """``next_due_at`` as ONE statement on a pooled connection outside any transaction (no session, no BEGIN,
    no ROLLBACK): the timer job's look before it claims and before it sleeps. It locks nothing and sees what
    was committed when it ran."""
    async with read_connection(engine) as conn:
        due: datetime | None = await conn.fetchval(_NEXT_DUE_SQL)
    return due


class TimerRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.earliest: datetime | None = None
        """The earliest timer this unit of work scheduled: the timer job is rung with it after the commit."""

    async def schedule(self, *, kind: str, ref_id: str, fire_at: datetime) -> None:
        """A timer of ``kind`` for ``ref_id``; scheduling the same one twice keeps the first."""
        await schedule(session=self.session, kind=kind, ref_id=ref_id, fire_at=fire_at)
        if self.earliest is None or fire_at < self.earliest:
            self.earliest = fire_at

    async def next_due_at(self) -> datetime | None:
        return await next_due_at(session=self.session)

    async def claim_due(self, *, now: datetime) -> DueTimer | None:
        """The earliest due timer, locked for this transaction, or None."""
        timers = await claim_due_timers(session=self.session, now=now, limit=1)
        return timers[0] if timers else None

    async def close_for_task(self, task_id: str, *, now: datetime) -> None:
        """The task's reminder and escalation will never be needed: out of the due index, pruned later."""
        conn = await driver_connection(self.session)  # raw: every decided or withdrawn task closes its timers
        await conn.execute(_CLOSE_FOR_TASK_SQL, task_id, now, list(TASK_TIMER_KINDS))

    async def mark_fired(self, timer_id: int, *, now: datetime) -> None:
        conn = await driver_connection(self.session)
        await conn.execute(_MARK_FIRED_SQL, timer_id, now)

    async def postpone(self, timer_id: int, *, error: str, now: datetime, give_up_after: int) -> bool:
        """A timer whose handling failed is retried later with backoff; False when it was given up."""
        query = select(approval_timer.c.attempts).where(approval_timer.c.id == timer_id)
        row = (await self.session.execute(query)).first()
        attempts = (row.attempts if row else 0) + 1
        values: dict[str, Any] = {"attempts": attempts, "last_error": error[:2000]}
        if attempts >= give_up_after:
            values["fired_at"] = now
        else:
            values["fire_at"] = now + timedelta(seconds=min(2**attempts, 300))
        await self.session.execute(update(approval_timer).where(approval_timer.c.id == timer_id).values(**values))
        return attempts < give_up_after
