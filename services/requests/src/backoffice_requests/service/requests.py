"""Commands on purchase requests. Each loads the request under a row lock, changes it and commits."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from backoffice_common.auth import User
from backoffice_requests.domain.closure import ClosurePolicy, check_closer
from backoffice_requests.domain.content import Attachment, LineInput, make_content
from backoffice_requests.domain.errors import InvalidRequest
from backoffice_requests.domain.model import Person, PurchaseRequest
from backoffice_requests.schemas import (
    CancelCreate,
    CloseCreate,
    LineCreate,
    ReceiptCreate,
    RequestCreate,
    RequestRevise,
    RequestUpdate,
    VendorReassignCreate,
)
from backoffice_requests.service import access, cost_centres
from backoffice_requests.service.errors import NotAVersion, StaleVersion, VersionRequired
from backoffice_requests.service.uow import RequestsUnitOfWork

Check = Callable[..., None]
"""Who may act: ``access.require_owner`` or ``access.require_owner_or_buyer``."""


def today() -> date:
    return datetime.now(UTC).date()


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _lines(lines: list[LineCreate]) -> list[LineInput]:
    return [LineInput(x.description, x.quantity, x.unit, x.unit_price, x.sku) for x in lines]


def _changes(data: RequestUpdate) -> dict[str, Any]:
    changes = data.model_dump(exclude_unset=True, exclude={"comment"})
    nulls = sorted(name for name, value in changes.items() if value is None)
    if nulls:
        raise InvalidRequest(f"fields cannot be set to null: {', '.join(nulls)}", field=nulls[0])
    if data.lines is not None:
        changes["lines"] = _lines(data.lines)
    if data.attachments is not None:
        changes["attachments"] = [Attachment(**a.model_dump()) for a in data.attachments]
    return changes


def _etag_version(if_match: str) -> int | None:
    """The version named by an ``If-Match`` value; None for ``*``."""
    value = if_match.strip()
    if value == "*":
        return None
    value = value.removeprefix("W/").strip('"')
    try:
        return int(value)
    except ValueError:
        raise NotAVersion(f"If-Match {if_match!r} is not an ETag of this service") from None


async def _load(
    uow: RequestsUnitOfWork, user: User, request_id: str, if_match: str | None, *, action: str, check: Check
) -> PurchaseRequest:
    """The request under a row lock, if ``user`` may see it, may ``action`` it, and read its current version."""
    request = await uow.requests.get(request_id, for_update=True)
    if request is None or not await access.can_see(
        uow.approvers, user=user, request_id=request_id, requester_id=request.requester.id
    ):
        raise access.not_found(request_id)
    check(user, requester_id=request.requester.id, action=action)
    if if_match is not None:
        expected = _etag_version(if_match)
        if expected is not None and expected != request.version:
            raise StaleVersion(
                f"the request changed since you read it (it is at version {request.version}); read it again",
                current_etag=f'"{request.version}"',
            )
    return request


async def _require_active_vendor(uow: RequestsUnitOfWork, vendor_id: str) -> None:
    status = await uow.vendors.status_of(vendor_id)
    if status is None:
        raise InvalidRequest(f"vendor {vendor_id} is not known", field="vendor_id")
    if status != "active":
        raise InvalidRequest(f"vendor {vendor_id} is {status}", field="vendor_id")


async def _save(uow: RequestsUnitOfWork, request: PurchaseRequest, user: User) -> PurchaseRequest:
    actor = access.actor_for(user, requester_id=request.requester.id)
    await uow.requests.save(request, actor=actor)
    await uow.commit()
    return request


async def create_draft(
    *, uow: RequestsUnitOfWork, user: User, data: RequestCreate, require_known_cost_centre: bool = False
) -> PurchaseRequest:
    content = make_content(
        title=data.title,
        description=data.description,
        vendor_id=data.vendor_id,
        currency=data.currency,
        cost_center=data.cost_center,
        department=data.department,
        category=data.category,
        needed_by=data.needed_by,
        lines=_lines(data.lines),
        attachments=[Attachment(**a.model_dump()) for a in data.attachments],
        today=today(),
    )
    access.require_own_department(user, content.department)
    await _require_active_vendor(uow, data.vendor_id)
    if require_known_cost_centre:
        await cost_centres.require_known(uow, content.cost_center)
    actor = access.actor_for(user, requester_id=user.sub)
    request = PurchaseRequest.draft(
        id=str(uuid.uuid4()),
        number=await uow.requests.next_number(),
        requester=Person(user.sub, user.name or user.sub, user.email, user.department),
        content=content,
        actor=actor,
    )
    await uow.requests.add(request, actor=actor)
    await uow.commit()
    return request


async def update_draft(
    *,
    uow: RequestsUnitOfWork,
    user: User,
    request_id: str,
    data: RequestUpdate,
    if_match: str | None,
    require_known_cost_centre: bool = False,
) -> PurchaseRequest:
    if if_match is None:
        raise VersionRequired("send If-Match with the ETag you read, so edits are not lost")
    request = await _load(uow, user, request_id, if_match, action="edit", check=access.require_owner)
    changes = _changes(data)
    request.update_draft(changes, today=today(), actor=access.actor_for(user, requester_id=request.requester.id))
    access.require_own_department(user, request.content.department)
    if "vendor_id" in changes:
        await _require_active_vendor(uow, request.content.vendor_id)
    if require_known_cost_centre and "cost_center" in changes:
        await cost_centres.require_known(uow, request.content.cost_center)
    return await _save(uow, request, user)


async def submit(
    *,
    uow: RequestsUnitOfWork,
    user: User,
    request_id: str,
    if_match: str | None,
    require_known_cost_centre: bool = False,
) -> PurchaseRequest:
    request = await _load(uow, user, request_id, if_match, action="submit", check=access.require_owner)
    request.submit(today=today(), actor=access.actor_for(user, requester_id=user.sub), submitted_at=_now())
    await _require_active_vendor(uow, request.content.vendor_id)
    if require_known_cost_centre:
        await cost_centres.require_known(uow, request.content.cost_center)
    return await _save(uow, request, user)


async def cancel(
    *, uow: RequestsUnitOfWork, user: User, request_id: str, data: CancelCreate, if_match: str | None
) -> PurchaseRequest:
    request = await _load(uow, user, request_id, if_match, action="cancel", check=access.require_owner_or_buyer)
    request.cancel(reason=data.reason, actor=access.actor_for(user, requester_id=request.requester.id))
    return await _save(uow, request, user)


async def revise(
    *,
    uow: RequestsUnitOfWork,
    user: User,
    request_id: str,
    data: RequestRevise,
    if_match: str | None,
    require_known_cost_centre: bool = False,
) -> PurchaseRequest:
    request = await _load(uow, user, request_id, if_match, action="revise", check=access.require_owner)
    changes = _changes(data)
    request.revise(
        changes,
        today=today(),
        actor=access.actor_for(user, requester_id=user.sub),
        submitted_at=_now(),
        comment=data.comment,
    )
    access.require_own_department(user, request.content.department)
    await _require_active_vendor(uow, request.content.vendor_id)
    if require_known_cost_centre:
        await cost_centres.require_known(uow, request.content.cost_center)
    return await _save(uow, request, user)


async def reassign_vendor(
    *, uow: RequestsUnitOfWork, user: User, request_id: str, data: VendorReassignCreate, if_match: str | None
) -> PurchaseRequest:
    request = await _load(
        uow, user, request_id, if_match, action="reassign the vendor of", check=access.require_owner_or_buyer
    )
    request.reassign_vendor(
        vendor_id=data.vendor_id, reason=data.reason, actor=access.actor_for(user, requester_id=request.requester.id)
    )
    await _require_active_vendor(uow, data.vendor_id)
    return await _save(uow, request, user)


async def confirm_receipt(
    *,
    uow: RequestsUnitOfWork,
    user: User,
    request_id: str,
    data: ReceiptCreate,
    if_match: str | None,
    closure_policy: ClosurePolicy | None = None,
) -> PurchaseRequest:
    request = await _load(
        uow, user, request_id, if_match, action="confirm receipt for", check=access.require_owner_or_buyer
    )
    await _check_closer(uow, user, request, closure_policy, action="confirm receipt of")
    quantities: dict[int, Any] = {}
    for line in data.lines:
        if line.line_no in quantities:
            raise InvalidRequest(f"line {line.line_no} is named twice", field="lines")
        quantities[line.line_no] = line.quantity
    request.confirm_receipt(quantities, actor=access.actor_for(user, requester_id=request.requester.id), note=data.note)
    return await _save(uow, request, user)


async def close(
    *,
    uow: RequestsUnitOfWork,
    user: User,
    request_id: str,
    data: CloseCreate,
    if_match: str | None,
    closure_policy: ClosurePolicy | None = None,
) -> PurchaseRequest:
    request = await _load(uow, user, request_id, if_match, action="close", check=access.require_owner_or_buyer)
    await _check_closer(uow, user, request, closure_policy, action="close")
    request.close(short=data.short, reason=data.reason, actor=access.actor_for(user, requester_id=request.requester.id))
    return await _save(uow, request, user)


async def _check_closer(
    uow: RequestsUnitOfWork, user: User, request: PurchaseRequest, policy: ClosurePolicy | None, *, action: str
) -> None:
    check_closer(
        policy or ClosurePolicy(),
        user_id=user.sub,
        requester_id=request.requester.id,
        buyer_signers=await uow.buyer_signers.of_request(request.id),
        action=action,
    )
