"""The chain's recorded domain events as CloudEvents types and payloads (the contract: docs/events.md)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from backoffice_approvals.domain.chain import (
    Chain,
    ChainApproved,
    ChainBlocked,
    ChainEnded,
    DomainEvent,
    ReminderDue,
    TaskAssigned,
    TaskDecided,
    TaskEscalated,
    TaskWithdrawn,
)
from backoffice_approvals.domain.people import Person

SERVICE = "approvals"
SYSTEM_ACTOR = {"id": "system", "name": "approvals", "role": "system"}

Payload = dict[str, Any]


def _person(p: Person | None) -> dict[str, str] | None:
    return p.as_dict() if p is not None else None


def _assigned(chain: Chain, event: TaskAssigned) -> tuple[str, Payload]:
    t = event.task
    snap = chain.snapshot
    return "approval.task_assigned", {
        "task_id": t.id,
        "request_id": chain.request_id,
        "revision": chain.revision,
        "chain_id": chain.id,
        "step": chain.steps[t.step_index].name,
        "assignee": t.assignee.as_dict(),
        "on_behalf_of": _person(t.on_behalf_of),
        "due_at": t.due_at.isoformat(),
        "request_title": snap.get("title", ""),
        "request_number": snap.get("number", ""),
    }


def _decided(chain: Chain, event: TaskDecided) -> tuple[str, Payload]:
    t = event.task
    return "approval.task_decided", {
        "task_id": t.id,
        "request_id": chain.request_id,
        "revision": chain.revision,
        "step": chain.steps[t.step_index].name,
        "decision": t.decision,
        "comment": t.comment,
        "decided_by": _person(t.decided_by),
        "on_behalf_of": _person(t.decided_on_behalf_of),
    }


def _withdrawn(chain: Chain, event: TaskWithdrawn) -> tuple[str, Payload]:
    return "approval.task_withdrawn", {
        "task_id": event.task.id,
        "request_id": chain.request_id,
        "assignee": event.task.assignee.as_dict(),
        "reason": event.reason,
    }


def _escalated(chain: Chain, event: TaskEscalated) -> tuple[str, Payload]:
    return "approval.escalated", {
        "task_id": event.old.id,
        "new_task_id": event.new.id,
        "request_id": chain.request_id,
        "from": event.old.assignee.as_dict(),
        "to": event.new.assignee.as_dict(),
        "reason": event.reason,
    }


def _reminder(chain: Chain, event: ReminderDue) -> tuple[str, Payload]:
    return "approval.reminder_due", {
        "task_id": event.task.id,
        "request_id": chain.request_id,
        "assignee": event.task.assignee.as_dict(),
        "due_at": event.task.due_at.isoformat(),
    }


def _approved(chain: Chain, event: ChainApproved) -> tuple[str, Payload]:
    return "purchase_request.approved", {
        "request": chain.snapshot,
        "chain_id": chain.id,
        "approvers": [p.as_dict() for p in event.approvers],
        "requester": chain.requester.as_dict(),
    }


def _ended(chain: Chain, event: ChainEnded) -> tuple[str, Payload]:
    t = event.task
    kind = "purchase_request.rejected" if t.decision == "rejected" else "purchase_request.changes_requested"
    return kind, {
        "request_id": chain.request_id,
        "revision": chain.revision,
        "comment": t.comment,
        "decided_by": _person(t.decided_by),
        "requester": chain.requester.as_dict(),
    }


def _blocked(chain: Chain, event: ChainBlocked) -> tuple[str, Payload]:
    snap = chain.snapshot
    return "approval.chain_blocked", {
        "chain_id": chain.id,
        "request_id": chain.request_id,
        "revision": chain.revision,
        "reason": event.reason,
        "requester": chain.requester.as_dict(),
        "request_title": snap.get("title", ""),
        "request_number": snap.get("number", ""),
    }


_MAPPERS: dict[type[Any], Callable[[Chain, Any], tuple[str, Payload]]] = {
    TaskAssigned: _assigned,
    TaskDecided: _decided,
    TaskWithdrawn: _withdrawn,
    TaskEscalated: _escalated,
    ReminderDue: _reminder,
    ChainApproved: _approved,
    ChainEnded: _ended,
    ChainBlocked: _blocked,
}


def cloud_event_data(chain: Chain, event: DomainEvent, actor: dict[str, str]) -> tuple[str, Payload]:
    """The CloudEvents type and data of one recorded event of ``chain``."""
    type_, data = _MAPPERS[type(event)](chain, event)
    return type_, {"schema_version": 1, "actor": actor, **data}
