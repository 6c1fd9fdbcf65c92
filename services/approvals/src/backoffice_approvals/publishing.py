"""Domain events of a chain -> CloudEvents in the outbox, and the timers new tasks need."""

from __future__ import annotations

from typing import Any

import structlog

from backoffice_approvals.domain.chain import (
    Chain,
    ChainApproved,
    ChainEnded,
    Task,
    TaskAssigned,
    TaskDecided,
    TaskEscalated,
    TaskWithdrawn,
)
from backoffice_approvals.repository import schedule
from backoffice_common.events import CloudEvent, new_event
from backoffice_common.uow import UnitOfWork

SERVICE = "approvals"
TOPIC = "backoffice.approvals"
SYSTEM_ACTOR = {"id": "system", "name": "approvals", "role": "system"}


def _iso(task: Task, attr: str) -> str:
    return str(getattr(task, attr).isoformat())


def _person(p: Any) -> dict[str, str] | None:
    return p.as_dict() if p is not None else None


def _data(chain: Chain, event: object, actor: dict[str, str]) -> tuple[str, dict[str, Any]]:
    base: dict[str, Any] = {"schema_version": 1, "actor": actor}
    snap = chain.snapshot
    if isinstance(event, TaskAssigned):
        t = event.task
        step = chain.steps[t.step_index]
        return "approval.task_assigned", {
            **base,
            "task_id": t.id,
            "request_id": chain.request_id,
            "revision": chain.revision,
            "chain_id": chain.id,
            "step": step.name,
            "assignee": t.assignee.as_dict(),
            "on_behalf_of": _person(t.on_behalf_of),
            "due_at": _iso(t, "due_at"),
            "request_title": snap.get("title", ""),
            "request_number": snap.get("number", ""),
        }
    if isinstance(event, TaskDecided):
        t = event.task
        return "approval.task_decided", {
            **base,
            "task_id": t.id,
            "request_id": chain.request_id,
            "revision": chain.revision,
            "step": chain.steps[t.step_index].name,
            "decision": t.decision,
            "comment": t.comment,
            "decided_by": _person(t.decided_by),
            "on_behalf_of": _person(t.decided_on_behalf_of),
        }
    if isinstance(event, TaskWithdrawn):
        return "approval.task_withdrawn", {
            **base,
            "task_id": event.task.id,
            "request_id": chain.request_id,
            "assignee": event.task.assignee.as_dict(),
            "reason": event.reason,
        }
    if isinstance(event, TaskEscalated):
        return "approval.escalated", {
            **base,
            "task_id": event.old.id,
            "new_task_id": event.new.id,
            "request_id": chain.request_id,
            "from": event.old.assignee.as_dict(),
            "to": event.new.assignee.as_dict(),
            "reason": event.reason,
        }
    if isinstance(event, ChainApproved):
        return "purchase_request.approved", {
            **base,
            "request": snap,
            "chain_id": chain.id,
            "approvers": [p.as_dict() for p in event.approvers],
        }
    assert isinstance(event, ChainEnded)
    t = event.task
    kind = "purchase_request.rejected" if t.decision == "rejected" else "purchase_request.changes_requested"
    return kind, {
        **base,
        "request_id": chain.request_id,
        "revision": chain.revision,
        "comment": t.comment,
        "decided_by": _person(t.decided_by),
        "requester": chain.requester.as_dict(),
    }


async def publish_chain_events(
    uow: UnitOfWork, chain: Chain, *, actor: dict[str, str] | None = None, cause: CloudEvent | None = None
) -> list[CloudEvent]:
    """Queue the chain's recorded events on the outbox and schedule timers of newly assigned tasks."""
    correlation = None if cause else structlog.contextvars.get_contextvars().get("correlation_id")
    published: list[CloudEvent] = []
    for event in chain.events:
        type_, data = _data(chain, event, actor or SYSTEM_ACTOR)
        cloud = new_event(
            type=type_, service=SERVICE, subject=chain.request_id, data=data, cause=cause, correlation_id=correlation
        )
        uow.publish(cloud, topic=TOPIC)
        published.append(cloud)
        if isinstance(event, TaskAssigned):
            await schedule(session=uow.session, kind="reminder", ref_id=event.task.id, fire_at=event.task.remind_at)
            await schedule(session=uow.session, kind="escalation", ref_id=event.task.id, fire_at=event.task.due_at)
    chain.events.clear()
    return published
