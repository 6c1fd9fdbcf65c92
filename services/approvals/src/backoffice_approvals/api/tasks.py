"""Approver inbox, task detail, a request's chain, and decisions."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from sqlalchemy import select

from backoffice_approvals.api.deps import PathId, SettingsDep, person_of
from backoffice_approvals.chains import DecisionRefused, decide
from backoffice_approvals.domain.people import Person
from backoffice_approvals.domain.routing import resolve_delegate
from backoffice_approvals.models import approval_chain, approval_task
from backoffice_approvals.repository import chains_of_request, inbox_rows, load_absences, load_directory, task_row
from backoffice_approvals.schemas import ChainRead, DecisionCreate, TaskRead
from backoffice_common.app import UowDep
from backoffice_common.auth import CurrentUser, User, require_roles
from backoffice_common.problems import Problem

router = APIRouter(tags=["tasks"])
DeciderUser = Annotated[User, Depends(require_roles("approver", "admin"))]


def audit_line(row: Any) -> str | None:
    if not row.decided_by:
        return None
    line = f"{row.decision} by {row.decided_by['name'] or row.decided_by['id']}"
    if row.decided_on_behalf_of:
        line += f" on behalf of {row.decided_on_behalf_of['name'] or row.decided_on_behalf_of['id']}"
    return line


def task_read(
    row: Any, *, steps: list[dict[str, Any]] | None = None, request: dict[str, Any] | None = None
) -> TaskRead:
    return TaskRead(
        id=row.id,
        chain_id=row.chain_id,
        request_id=row.request_id,
        step=steps[row.step_index]["name"] if steps else None,
        status=row.status,
        approver=row.approver,
        assignee=row.assignee,
        on_behalf_of=row.on_behalf_of,
        decision=row.decision,
        comment=row.comment,
        decided_by=row.decided_by,
        decided_on_behalf_of=row.decided_on_behalf_of,
        decided_at=row.decided_at,
        closed_reason=row.closed_reason,
        escalated_from=row.escalated_from,
        due_at=row.due_at,
        created_at=row.created_at,
        audit=audit_line(row),
        request=request,
    )


@router.get("/tasks", response_model=list[TaskRead], summary="My open tasks, including those delegated to me")
async def inbox(uow: UowDep, user: CurrentUser) -> list[TaskRead]:
    rows = await inbox_rows(session=uow.session, user_id=user.sub, now=datetime.now(UTC))
    return [task_read(r, request=r.snapshot) for r in rows]


async def _may_see(uow: UowDep, user: User, rows: list[Any], requester_id: str) -> bool:
    if user.sees_everything or user.sub == requester_id:
        return True
    people = set()
    for row in rows:
        people.add(row.assignee_id)
        for key in ("on_behalf_of", "decided_by", "decided_on_behalf_of", "approver"):
            value = getattr(row, key)
            if value:
                people.add(value["id"])
    if user.sub in people:
        return True
    now = datetime.now(UTC)
    absences = await load_absences(session=uow.session, at=now)
    directory = await load_directory(session=uow.session)
    for row in rows:
        if row.status == "open":
            delegate, _ = resolve_delegate(
                _person(row.assignee), directory=directory, absences=absences, at=now, excluded=()
            )
            if delegate.id == user.sub:
                return True
    return False


def _person(data: dict[str, Any]) -> Person:
    return Person.from_dict(data)


@router.get("/tasks/{task_id}", response_model=TaskRead, summary="One task with the request snapshot")
async def get_task(task_id: PathId, uow: UowDep, user: CurrentUser) -> TaskRead:
    row = await task_row(session=uow.session, task_id=task_id)
    if row is None:
        raise Problem(404, "Not Found", f"no task {task_id}", type="not-found")
    chain = (await uow.session.execute(select(approval_chain).where(approval_chain.c.id == row.chain_id))).one()
    if not await _may_see(uow, user, [row], chain.requester["id"]):
        raise Problem(404, "Not Found", f"no task {task_id}", type="not-found")
    return task_read(row, steps=chain.steps, request=chain.snapshot)


@router.get("/requests/{request_id}/chain", response_model=list[ChainRead], summary="Every chain of a request")
async def request_chain(request_id: PathId, uow: UowDep, user: CurrentUser) -> list[ChainRead]:
    chains = await chains_of_request(session=uow.session, request_id=request_id)
    if not chains:
        raise Problem(404, "Not Found", f"no approval chain for request {request_id}", type="not-found")
    ids = [c.id for c in chains]
    tasks = (
        await uow.session.execute(
            select(approval_task).where(approval_task.c.chain_id.in_(ids)).order_by(approval_task.c.created_at)
        )
    ).all()
    if not await _may_see(uow, user, list(tasks), chains[0].requester["id"]):
        raise Problem(404, "Not Found", f"no approval chain for request {request_id}", type="not-found")
    return [
        ChainRead(
            id=c.id,
            request_id=c.request_id,
            revision=c.revision,
            policy_version=c.policy_version,
            status=c.status,
            blocked_reason=c.blocked_reason,
            notes=c.notes,
            steps=c.steps,
            tasks=[task_read(t, steps=c.steps) for t in tasks if t.chain_id == c.id],
        )
        for c in chains
    ]


@router.post("/tasks/{task_id}/decision", response_model=TaskRead, summary="Approve, reject or request changes")
async def post_decision(
    task_id: PathId, body: DecisionCreate, uow: UowDep, user: DeciderUser, settings: SettingsDep
) -> TaskRead:
    try:
        chain, task = await decide(
            uow=uow,
            task_id=task_id,
            user=person_of(user),
            is_admin=user.has_any("admin"),
            decision=body.decision,
            comment=body.comment,
            reason=body.reason,
            settings=settings,
        )
    except DecisionRefused as exc:
        titles = {403: "Forbidden", 404: "Not Found", 409: "Conflict", 422: "Invalid decision"}
        raise Problem(exc.status, titles.get(exc.status, "Refused"), str(exc), type="decision-refused") from exc
    await uow.commit()
    row = await task_row(session=uow.session, task_id=task.id)
    return task_read(row, steps=[s.as_dict() for s in chain.steps])
