"""The requests service's unit of work: its repositories, and its own events turned into outbox rows
and timeline entries at commit."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, ClassVar, Self

import structlog

from backoffice_common import topics
from backoffice_common.events import new_event
from backoffice_common.objectstore import ObjectStore
from backoffice_common.uow import UnitOfWork
from backoffice_requests.domain.model import PurchaseRequest
from backoffice_requests.repository.cost_centres import CostCentreRepository
from backoffice_requests.repository.facts import ApproverRepository, BuyerSignerRepository, DeferredEventRepository
from backoffice_requests.repository.idempotency import IdempotencyRepository
from backoffice_requests.repository.reads import RequestReads
from backoffice_requests.repository.requests import RequestRepository
from backoffice_requests.repository.timeline import TimelineRepository
from backoffice_requests.repository.timeline_archive import ArchivedTimelineRepository
from backoffice_requests.repository.vendors import VendorRepository

SERVICE = "requests"
PUBLISHED = frozenset(
    {
        "purchase_request.submitted",
        "purchase_request.revised",
        "purchase_request.vendor_reassigned",
        "purchase_request.cancelled",
        "purchase_request.receipt_confirmed",
        "purchase_request.closed",
    }
)
"""The recorded events other services hear of; the others (drafted, draft_updated) stay in the timeline."""

CommitHook = Callable[[], Awaitable[None]]


class RequestsUnitOfWork(UnitOfWork):
    requests: RequestRepository
    reads: RequestReads
    timeline: TimelineRepository
    approvers: ApproverRepository
    buyer_signers: BuyerSignerRepository
    deferred: DeferredEventRepository
    vendors: VendorRepository
    cost_centres: CostCentreRepository
    idempotency: IdempotencyRepository
    archived_timelines: ArchivedTimelineRepository
    archive_store: ClassVar[ObjectStore | None] = None
    """Where ``archive-timeline`` put the finished requests' timelines; set by ``with_archive`` in the
    composition root."""

    @classmethod
    def with_archive(cls, store: ObjectStore) -> type[RequestsUnitOfWork]:
        """This unit of work reading archived timelines from ``store`` (the shared runtime builds units of
        work by class)."""
        return type(cls.__name__, (cls,), {"archive_store": store})

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._before_commit: list[CommitHook] = []

    async def __aenter__(self) -> Self:
        await super().__aenter__()
        session = self.session
        self.requests = RequestRepository(session, track=self.track)
        self.reads = RequestReads(session)
        self.timeline = TimelineRepository(session)
        self.approvers = ApproverRepository(session)
        self.buyer_signers = BuyerSignerRepository(session)
        self.deferred = DeferredEventRepository(session)
        self.vendors = VendorRepository(session)
        self.cost_centres = CostCentreRepository(session)
        self.idempotency = IdempotencyRepository(session)
        self.archived_timelines = ArchivedTimelineRepository(self.archive_store)
        self._before_commit = []
        return self

    def before_commit(self, hook: CommitHook) -> None:
        """Run ``hook`` inside the transaction when the use case commits: the API stores its
        Idempotency-Key answer this way, so the change and its answer are one transaction."""
        self._before_commit.append(hook)

    def changed_request(self) -> PurchaseRequest:
        """The purchase request this unit of work loaded or created (a command changes exactly one)."""
        (request,) = (seen for seen in self.seen if isinstance(seen, PurchaseRequest))
        return request

    async def commit(self) -> None:
        hooks, self._before_commit = self._before_commit, []
        for hook in hooks:
            await hook()
        await super().commit()

    async def rollback(self) -> None:
        self._before_commit = []
        await super().rollback()

    async def collect_events(self) -> None:
        """Each tracked request's recorded events become CloudEvents: the published kinds go to the
        outbox, and every one of them gets a timeline entry, in this transaction."""
        correlation = structlog.contextvars.get_contextvars().get("correlation_id")
        for request in self.seen:
            if not isinstance(request, PurchaseRequest):
                continue
            for recorded in request.events:
                event = new_event(
                    type=recorded.type,
                    service=SERVICE,
                    subject=request.id,
                    data=recorded.data,
                    correlation_id=correlation,
                )
                if event.type in PUBLISHED:
                    self.publish(event, topic=topics.REQUESTS)
                else:  # a draft's creation and edits: announced to nobody, but facts of the request
                    self.record_event(event)
                await self.timeline.add(
                    request_id=request.id,
                    event=event,
                    actor=recorded.actor.as_dict(),
                    outcome="applied",
                    note="",
                    status_after=request.status.value,
                )
            request.events.clear()
