"""Approver inbox, task detail, a request's chain, and decisions."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import AwareDatetime

from backoffice_approvals.api.deps import DeciderUser, PathId, UowDep, decider_of
from backoffice_approvals.repository.chains import stored_task
from backoffice_approvals.repository.task_lists import TaskFilter
from backoffice_approvals.schemas import ChainRead, DecisionCreate, TaskPageRead, TaskRead
from backoffice_approvals.service.decisions import decide
from backoffice_approvals.service.task_lists import task_page
from backoffice_approvals.service.tasks import visible_chains, visible_task
from backoffice_common.auth import CurrentUser
from backoffice_common.deps import ReadConnection
from backoffice_common.openapi import problem_responses
from backoffice_common.strings import NUL_FREE_NONEMPTY

router = APIRouter(tags=["tasks"])


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


@router.get(
    "/tasks",
    response_model=TaskPageRead,
    summary="My open tasks (including those delegated to me) by due date, or the tasks I decided",
)
async def inbox(
    user: CurrentUser,
    conn: ReadConnection,
    state: Annotated[
        Literal["open", "decided"],
        Query(
            description="open: assigned to me or to someone I stand in for; decided: decided by me or assigned to me"
        ),
    ] = "open",
    step: Annotated[str | None, Query(max_length=200, pattern=NUL_FREE_NONEMPTY)] = None,
    request_id: Annotated[str | None, Query(max_length=200, pattern=NUL_FREE_NONEMPTY)] = None,
    due_before: Annotated[AwareDatetime | None, Query(description="due strictly before this time")] = None,
    overdue: Annotated[bool | None, Query(description="true: past due; false: not yet due")] = None,
    cursor: Annotated[str | None, Query(max_length=500, pattern=r"^[A-Za-z0-9_-]+$")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> TaskPageRead:
    where = TaskFilter(state=state, step=step, request_id=request_id, due_before=due_before)
    # No unit of work: one statement on a pooled connection without a transaction (read_connection).
    return await task_page(conn=conn, user=user, where=where, overdue=overdue, cursor=cursor, limit=limit)


@router.get("/tasks/{task_id}", response_model=TaskRead, summary="One task with the request snapshot")
async def get_task(task_id: PathId, user: CurrentUser, conn: ReadConnection) -> TaskRead:
    # No unit of work: the task and its chain in one statement on a pooled connection (read_connection).
    row, chain = await visible_task(conn=conn, user=user, task_id=task_id)
    return task_read(row, steps=chain.steps, request=chain.snapshot)


@router.get("/requests/{request_id}/chain", response_model=list[ChainRead], summary="Every chain of a request")
async def request_chain(request_id: PathId, user: CurrentUser, conn: ReadConnection) -> list[ChainRead]:
    chains, tasks = await visible_chains(conn=conn, user=user, request_id=request_id)
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


@router.post(
    "/tasks/{task_id}/decision",
    response_model=TaskRead,
    summary="Approve, reject or request changes",
    responses=problem_responses(409, s409="Conflict: the task is no longer open (problem details)"),
)
async def post_decision(task_id: PathId, body: DecisionCreate, uow: UowDep, user: DeciderUser) -> TaskRead:
    chain, task = await decide(
        uow=uow,
        task_id=task_id,
        decider=decider_of(user),
        decision=body.decision,
        comment=body.comment,
        reason=body.reason,
    )
    # ``decide`` committed: the answer is the decided task's row as it was written, built in memory (no read
    # back; ``test_a_decisions_answer_is_the_decided_task_as_stored_key_for_key``).
    return task_read(stored_task(chain, task), steps=[s.as_dict() for s in chain.steps])
