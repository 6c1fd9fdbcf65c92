"""Loading and saving the purchase request aggregate; every command loads it under a row lock.

``get`` and ``add`` hand the aggregate to the unit of work's ``track``, so the events it records are
collected at commit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice_requests.domain.lifecycle import Status
from backoffice_requests.domain.model import Actor, Person, PurchaseRequest
from backoffice_requests.domain.money import format_quantity
from backoffice_requests.models import purchase_request, request_number_seq, request_revision
from backoffice_requests.repository.serialization import content_from_json, content_to_json


class RequestRepository:
    def __init__(self, session: AsyncSession, *, track: Callable[[Any], None] = lambda _: None) -> None:
        self.session = session
        self._track = track

    async def next_number(self) -> str:
        value = await self.session.scalar(select(request_number_seq.next_value()))
        return f"PR-{int(value or 0):06d}"

    async def get(self, request_id: str, *, for_update: bool = False) -> PurchaseRequest | None:
        """The request at its current revision; ``for_update`` serialises writers of one request."""
        stmt = select(purchase_request).where(purchase_request.c.id == request_id)
        if for_update:
            stmt = stmt.with_for_update()
        row = (await self.session.execute(stmt)).mappings().one_or_none()
        if row is None:
            return None
        content: dict[str, Any] = (
            await self.session.execute(
                select(request_revision.c.content).where(
                    request_revision.c.request_id == request_id, request_revision.c.revision == row["revision"]
                )
            )
        ).scalar_one()
        request = PurchaseRequest(
            id=row["id"],
            number=row["number"],
            requester=Person(
                row["requester_id"], row["requester_name"], row["requester_email"], row["requester_department"]
            ),
            status=Status(row["status"]),
            revision=row["revision"],
            content=content_from_json(content),
            version=row["version"],
            received={int(k): Decimal(v) for k, v in row["received"].items()},
        )
        self._track(request)
        return request

    async def ids_of_vendor(self, vendor_id: str, *, statuses: Iterable[str]) -> list[str]:
        """The ids of ``vendor_id``'s requests in one of ``statuses``, oldest first."""
        rows = await self.session.execute(
            select(purchase_request.c.id)
            .where(purchase_request.c.vendor_id == vendor_id, purchase_request.c.status.in_(list(statuses)))
            .order_by(purchase_request.c.created_at, purchase_request.c.id)
        )
        return [str(request_id) for request_id in rows.scalars().all()]

    async def add(self, request: PurchaseRequest, *, actor: Actor) -> None:
        await self.session.execute(insert(purchase_request).values(id=request.id, **self._row(request)))
        await self._insert_revisions(request, actor)
        self._track(request)

    async def save(self, request: PurchaseRequest, *, actor: Actor) -> None:
        await self.session.execute(
            update(purchase_request)
            .where(purchase_request.c.id == request.id)
            .values(**self._row(request), updated_at=func.now())
        )
        await self._insert_revisions(request, actor)

    async def _insert_revisions(self, request: PurchaseRequest, actor: Actor) -> None:
        if request.draft_edited and not request.new_revisions:
            await self.session.execute(
                update(request_revision)
                .where(request_revision.c.request_id == request.id, request_revision.c.revision == request.revision)
                .values(content=content_to_json(request.content), created_by=actor.as_dict())
            )
            request.draft_edited = False
        if request.new_revisions:
            # Only the current revision's content is held by the aggregate; earlier new ones were superseded.
            await self.session.execute(
                insert(request_revision).values(
                    request_id=request.id,
                    revision=request.revision,
                    content=content_to_json(request.content),
                    created_by=actor.as_dict(),
                )
            )
            request.new_revisions.clear()

    @staticmethod
    def _row(request: PurchaseRequest) -> dict[str, Any]:
        c = request.content
        return {
            "number": request.number,
            "requester_id": request.requester.id,
            "requester_name": request.requester.name,
            "requester_email": request.requester.email,
            "requester_department": request.requester.department,
            "status": request.status.value,
            "revision": request.revision,
            "version": request.version,
            "title": c.title,
            "vendor_id": c.vendor_id,
            "department": c.department,
            "currency": c.currency,
            "total": c.total,
            "received": {str(k): format_quantity(v) for k, v in request.received.items()},
        }
