"""Loading and saving the approvals aggregates and read models (no commits here)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice_approvals.domain.chain import Chain, Task
from backoffice_approvals.domain.people import Absence, Approver, Directory, Person
from backoffice_approvals.domain.policy import PolicyDocument
from backoffice_approvals.domain.routing import PlannedStep
from backoffice_approvals.models import absence, approval_chain, approval_task, approval_timer, approver, policy


def _person(data: Any) -> Person | None:
    return Person.from_dict(data) if data else None


def approver_from_row(row: Any) -> Approver:
    return Approver(
        id=row.id,
        name=row.name,
        email=row.email,
        manager_id=row.manager_id,
        department=row.department,
        head_of=frozenset(row.head_of or []),
        groups=frozenset(row.groups or []),
        limit_amount=Decimal(row.limit_amount) if row.limit_amount is not None else None,
        limit_currency=row.limit_currency,
        active=row.active,
    )


def approver_values(a: Approver) -> dict[str, Any]:
    return {
        "id": a.id,
        "name": a.name,
        "email": a.email,
        "manager_id": a.manager_id,
        "department": a.department,
        "head_of": sorted(a.head_of),
        "groups": sorted(a.groups),
        "limit_amount": a.limit_amount,
        "limit_currency": a.limit_currency,
        "active": a.active,
    }


async def load_directory(*, session: AsyncSession) -> Directory:
    rows = (await session.execute(select(approver))).all()
    return Directory.of(approver_from_row(r) for r in rows)


async def upsert_approvers(*, session: AsyncSession, approvers: Sequence[Approver]) -> None:
    if not approvers:
        return
    stmt = insert(approver).values([approver_values(a) for a in approvers])
    columns = {c: stmt.excluded[c] for c in approver_values(approvers[0]) if c != "id"}
    await session.execute(
        stmt.on_conflict_do_update(index_elements=["id"], set_={**columns, "updated_at": stmt.excluded.updated_at})
    )


async def load_absences(*, session: AsyncSession, at: datetime) -> list[Absence]:
    rows = (
        await session.execute(
            select(absence).where(absence.c.cancelled_at.is_(None), absence.c.ends_at > at, absence.c.starts_at <= at)
        )
    ).all()
    return [Absence(r.user_id, r.starts_at, r.ends_at, r.delegate_id) for r in rows]


async def active_policy(*, session: AsyncSession) -> tuple[int, PolicyDocument] | None:
    row = (await session.execute(select(policy).order_by(policy.c.version.desc()).limit(1))).first()
    if row is None:
        return None
    return row.version, PolicyDocument.model_validate(row.document)


def _task_from_row(row: Any) -> Task:
    return Task(
        id=row.id,
        step_index=row.step_index,
        stage=row.stage,
        approver=Person.from_dict(row.approver),
        assignee=Person.from_dict(row.assignee),
        on_behalf_of=_person(row.on_behalf_of),
        due_at=row.due_at,
        remind_at=row.remind_at,
        created_at=row.created_at,
        status=row.status,
        decision=row.decision,
        comment=row.comment,
        decided_by=_person(row.decided_by),
        decided_on_behalf_of=_person(row.decided_on_behalf_of),
        decided_at=row.decided_at,
        closed_reason=row.closed_reason,
        escalated_from=row.escalated_from,
    )


async def load_chain(*, session: AsyncSession, chain_id: str, lock: bool = False) -> Chain | None:
    query = select(approval_chain).where(approval_chain.c.id == chain_id)
    if lock:
        query = query.with_for_update()
    row = (await session.execute(query)).first()
    if row is None:
        return None
    tasks = (
        await session.execute(
            select(approval_task).where(approval_task.c.chain_id == chain_id).order_by(approval_task.c.created_at)
        )
    ).all()
    return Chain(
        id=row.id,
        request_id=row.request_id,
        revision=row.revision,
        requester=Person.from_dict(row.requester),
        snapshot=row.snapshot,
        steps=[PlannedStep.from_dict(s) for s in row.steps],
        policy_version=row.policy_version,
        status=row.status,
        reminder_share=float(row.reminder_share),
        tasks=[_task_from_row(t) for t in tasks],
    )


async def chains_of_request(*, session: AsyncSession, request_id: str, lock: bool = False) -> list[Any]:
    query = select(approval_chain).where(approval_chain.c.request_id == request_id).order_by(approval_chain.c.revision)
    if lock:
        query = query.with_for_update()
    return list((await session.execute(query)).all())


async def insert_chain(*, session: AsyncSession, chain: Chain, notes: list[str], blocked_reason: str | None) -> None:
    await session.execute(
        approval_chain.insert().values(
            id=chain.id,
            request_id=chain.request_id,
            revision=chain.revision,
            requester=chain.requester.as_dict(),
            snapshot=chain.snapshot,
            steps=[s.as_dict() for s in chain.steps],
            notes=notes,
            policy_version=chain.policy_version,
            reminder_share=Decimal(str(chain.reminder_share)),
            status=chain.status,
            blocked_reason=blocked_reason,
        )
    )


async def save_chain(*, session: AsyncSession, chain: Chain, now: datetime) -> None:
    await session.execute(
        update(approval_chain).where(approval_chain.c.id == chain.id).values(status=chain.status, updated_at=now)
    )
    await save_tasks(session=session, chain=chain)


async def save_tasks(*, session: AsyncSession, chain: Chain) -> None:
    if not chain.tasks:
        return
    rows = [
        {
            "id": t.id,
            "chain_id": chain.id,
            "request_id": chain.request_id,
            "step_index": t.step_index,
            "stage": t.stage,
            "approver": t.approver.as_dict(),
            "assignee_id": t.assignee.id,
            "assignee": t.assignee.as_dict(),
            "on_behalf_of": t.on_behalf_of.as_dict() if t.on_behalf_of else None,
            "status": t.status,
            "decision": t.decision,
            "comment": t.comment,
            "decided_by": t.decided_by.as_dict() if t.decided_by else None,
            "decided_on_behalf_of": t.decided_on_behalf_of.as_dict() if t.decided_on_behalf_of else None,
            "decided_at": t.decided_at,
            "closed_reason": t.closed_reason,
            "escalated_from": t.escalated_from,
            "due_at": t.due_at,
            "remind_at": t.remind_at,
            "created_at": t.created_at,
        }
        for t in chain.tasks
    ]
    stmt = insert(approval_task).values(rows)
    mutable = ["assignee_id", "assignee", "on_behalf_of", "status", "decision", "comment", "decided_by"]
    mutable += ["decided_on_behalf_of", "decided_at", "closed_reason"]
    await session.execute(
        stmt.on_conflict_do_update(index_elements=["id"], set_={c: stmt.excluded[c] for c in mutable})
    )


async def schedule(*, session: AsyncSession, kind: str, ref_id: str, fire_at: datetime) -> None:
    await session.execute(
        insert(approval_timer)
        .values(kind=kind, ref_id=ref_id, fire_at=fire_at)
        .on_conflict_do_nothing(index_elements=["kind", "ref_id"])
    )


async def claim_due_timers(*, session: AsyncSession, now: datetime, limit: int) -> list[Any]:
    """Due timers locked for this transaction; other instances skip them (SKIP LOCKED)."""
    query = (
        select(approval_timer)
        .where(approval_timer.c.fired_at.is_(None), approval_timer.c.fire_at <= now)
        .order_by(approval_timer.c.fire_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list((await session.execute(query)).all())


async def mark_fired(*, session: AsyncSession, timer_id: int, now: datetime) -> None:
    await session.execute(update(approval_timer).where(approval_timer.c.id == timer_id).values(fired_at=now))


async def task_row(*, session: AsyncSession, task_id: str) -> Any:
    return (await session.execute(select(approval_task).where(approval_task.c.id == task_id))).first()


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


async def open_tasks_of(*, session: AsyncSession, user_id: str) -> list[Any]:
    query = select(approval_task.c.id, approval_task.c.chain_id).where(
        and_(approval_task.c.status == "open", approval_task.c.assignee_id == user_id)
    )
    return list((await session.execute(query)).all())


async def absence_row(*, session: AsyncSession, absence_id: str) -> Any:
    return (await session.execute(select(absence).where(absence.c.id == absence_id))).first()


async def postpone_timer(
    *, session: AsyncSession, timer_id: int, error: str, now: datetime, give_up_after: int
) -> bool:
    """A timer whose handling failed is retried later with backoff; False when it was given up."""
    row = (await session.execute(select(approval_timer.c.attempts).where(approval_timer.c.id == timer_id))).first()
    attempts = (row.attempts if row else 0) + 1
    values: dict[str, Any] = {"attempts": attempts, "last_error": error[:2000]}
    if attempts >= give_up_after:
        values["fired_at"] = now
    else:
        values["fire_at"] = now + timedelta(seconds=min(2**attempts, 300))
    await session.execute(update(approval_timer).where(approval_timer.c.id == timer_id).values(**values))
    return attempts < give_up_after
