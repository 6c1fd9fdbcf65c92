"""Facts reported by other services, applied to the request under a row lock.

A fact that arrived before the fact it follows is deferred (kept in ``deferred_event``) and applied
as soon as a later fact brings the request to where it fits; one that does not fit and never will
is ignored (see ``domain/facts.py``). Either way it is written to the timeline and the handling
never fails. The consumer commits the unit of work together with its inbox row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from backoffice_common.events import CloudEvent
from backoffice_requests.domain.facts import FACTS, apply_fact
from backoffice_requests.domain.model import Actor, PurchaseRequest
from backoffice_requests.service.uow import RequestsUnitOfWork


@dataclass(frozen=True)
class Report:
    """What another service's event says about a request, as the consumer read it."""

    event: CloudEvent
    request_id: str
    actor: dict[str, Any]
    note: str = ""
    approvers: list[str] = field(default_factory=list)
    """People asked to approve the request (they may see it from now on)."""
    buyer_signers: list[str] = field(default_factory=list)
    """People who signed the request's contract for the buyer (the closure policy may refuse them)."""
    task_id: str = ""


def _system(event: CloudEvent) -> Actor:
    return Actor(id="system", name=event.source.removeprefix("backoffice/"), role="system")


async def record_report(*, uow: RequestsUnitOfWork, report: Report) -> str | None:
    """Write the event to the request's timeline and apply the fact it reports, if it reports one.
    Returns the inbox outcome of a fact (``applied``, ``deferred: ...``, ``ignored: ...``)."""
    event, request_id = report.event, report.request_id
    request: PurchaseRequest | None = None
    if event.type in FACTS:
        request = await uow.requests.get(request_id, for_update=True)
        status = None if request is None else request.status.value
    else:
        # Only the timeline (7 of a flow's 12 consumed events): the status under the same row lock, without the
        # revision's content or the aggregate, which nothing here would read.
        status = await uow.requests.status_for_update(request_id)
    if status is None:
        return f"ignored: unknown request {request_id}"
    for user_id in report.approvers:
        await uow.approvers.remember(request_id=request_id, user_id=user_id, task_id=report.task_id)
    for user_id in report.buyer_signers:
        await uow.buyer_signers.remember(request_id=request_id, user_id=user_id)
    outcome, note, result = "recorded", report.note, None
    if request is not None:  # a fact
        decision = apply_fact(request, event.type, event.data)
        outcome, detail = decision.outcome, decision.detail
        note = f"{note}; {detail}" if note and detail else (detail or note)
        if outcome == "deferred":
            await uow.deferred.add(request_id=request_id, event=event)
        result = f"{outcome}: {detail}" if detail else outcome
    after = status if request is None else request.status.value
    if request is not None and outcome == "applied":
        # The entry, the request's row and its deferred facts in one statement (the lock is held: see
        # add_reading_deferred); saved again only if a deferred fact was handled (almost never) or the save writes
        # a revision too (a fact never does).
        saving = uow.requests.plain_update(request)
        deferred = await uow.timeline.add_reading_deferred(
            request_id=request_id,
            event=event,
            actor=report.actor,
            outcome=outcome,
            note=note,
            status_after=after,
            saving=saving,
        )
        await _apply_deferred(uow, request, deferred)
        if saving is None or deferred:
            await uow.requests.save(request, actor=_system(event))
    else:
        await uow.timeline.add(
            request_id=request_id, event=event, actor=report.actor, outcome=outcome, note=note, status_after=after
        )
    return result


async def record_entry(*, uow: RequestsUnitOfWork, report: Report) -> str | None:
    """``record_report`` for an event that reports no fact (``domain.facts.TIMELINE_ONLY``: 7 of a flow's 12 consumed
    events), in ONE statement instead of two to four (``TimelineRepository.record_under_lock``): the row lock and the
    status, the approvers and the buyer's signers the event names, the entry. The same rows, the same outcome (None,
    or ``ignored: unknown request``) and the same order among the request's writers as ``record_report``, which
    stays the reference (``tests/integration/test_consumed_in_one_statement.py`` compares the two)."""
    event, request_id = report.event, report.request_id
    if event.type in FACTS:
        raise ValueError(f"{event.type} reports a fact: record_report applies it")
    status = await uow.timeline.record_under_lock(
        request_id=request_id,
        event=event,
        actor=report.actor,
        note=report.note,
        approvers=report.approvers,
        task_id=report.task_id,
        buyer_signers=report.buyer_signers,
    )
    return f"ignored: unknown request {request_id}" if status is None else None


async def _apply_deferred(uow: RequestsUnitOfWork, request: PurchaseRequest, deferred: list[CloudEvent]) -> None:
    """Apply the deferred facts that fit now, in the order they happened, until none does (``deferred``: the
    request's deferred facts as read with the applied fact's entry; read again after each pass that applied one)."""
    progress = True
    while progress:
        progress = False
        for event in deferred:
            decision = apply_fact(request, event.type, event.data)
            if decision.outcome == "deferred":
                continue
            progress = progress or decision.outcome == "applied"
            await uow.deferred.remove(event.id)
            if decision.outcome == "applied":
                await uow.timeline.update(
                    event_id=event.id,
                    outcome="applied",
                    note="applied once the earlier event arrived",
                    status_after=request.status.value,
                )
            else:
                await uow.timeline.update(event_id=event.id, outcome=decision.outcome, note=decision.detail)
        if progress:
            deferred = await uow.deferred.of_request(request.id)
