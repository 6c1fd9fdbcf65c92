"""Timers (``checklist_timer``): due dates and last days kept in the database, claimed with SKIP LOCKED."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice_checklists.models import checklist_timer


class TimerRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.earliest: datetime | None = None
        """The earliest timer this unit of work set: the timer job is rung with it after the commit."""

    async def set(self, *, kind: str, ref_id: str, fire_at: datetime) -> None:
        """A timer of ``kind`` for ``ref_id`` firing at ``fire_at``; an existing one is moved and re-armed."""
        await self.session.execute(
            insert(checklist_timer)
            .values(kind=kind, ref_id=ref_id, fire_at=fire_at)
            .on_conflict_do_update(
                index_elements=["kind", "ref_id"],
                set_={"fire_at": fire_at, "fired_at": None, "attempts": 0, "last_error": None},
            )
        )
        if self.earliest is None or fire_at < self.earliest:
            self.earliest = fire_at

    async def next_due_at(self) -> datetime | None:
        """When the earliest timer not yet fired falls due (the partial index ``ix_checklist_timer_due``)."""
        query = select(func.min(checklist_timer.c.fire_at)).where(checklist_timer.c.fired_at.is_(None))
        due: datetime | None = (await self.session.execute(query)).scalar_one_or_none()
        return due

    async def claim_due(self, *, now: datetime) -> Any:
        """The earliest due timer, locked for this transaction (other instances skip it), or None."""
        query = (
            select(checklist_timer)
            .where(checklist_timer.c.fired_at.is_(None), checklist_timer.c.fire_at <= now)
            .order_by(checklist_timer.c.fire_at)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        return (await self.session.execute(query)).first()

    async def pending(self, *, ref_prefix: str) -> list[Any]:
        query = (
            select(checklist_timer)
            .where(
                checklist_timer.c.ref_id.startswith(ref_prefix, autoescape=True), checklist_timer.c.fired_at.is_(None)
            )
            .order_by(checklist_timer.c.fire_at)
        )
        return list((await self.session.execute(query)).all())

    async def mark_fired(self, timer_id: int, *, now: datetime) -> None:
        await self.session.execute(update(checklist_timer).where(checklist_timer.c.id == timer_id).values(fired_at=now))

    async def postpone(self, timer_id: int, *, error: str, now: datetime, give_up_after: int) -> bool:
        """A timer whose handling failed is retried later with backoff; False when it was given up."""
        row = (
            await self.session.execute(select(checklist_timer.c.attempts).where(checklist_timer.c.id == timer_id))
        ).first()
        attempts = (row.attempts if row else 0) + 1
        values: dict[str, Any] = {"attempts": attempts, "last_error": error[:2000]}
        if attempts >= give_up_after:
            values["fired_at"] = now
        else:
            values["fire_at"] = now + timedelta(seconds=min(2**attempts, 300))
        await self.session.execute(update(checklist_timer).where(checklist_timer.c.id == timer_id).values(**values))
        return attempts < give_up_after
