"""Entrypoints for ``backoffice.requests`` and ``budget.checked`` events: event -> payload -> use case.

The payload models check what the use cases rely on; the snapshot itself travels on unchanged
(``extra="allow"``): the chain stores it and publishes it again with ``purchase_request.approved``.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, model_validator

from backoffice_approvals.domain.budget import BudgetCheck
from backoffice_approvals.domain.people import Person
from backoffice_approvals.service.chains import record_budget_check, start_chain, withdraw_request
from backoffice_approvals.service.uow import ApprovalsUnitOfWork
from backoffice_approvals.settings import Settings
from backoffice_common.consumer import Handler, PermanentEventError
from backoffice_common.events import CloudEvent, parse_payload

Id = Annotated[StrictStr, Field(min_length=1, max_length=200)]
Revision = Annotated[StrictInt, Field(gt=0, lt=2**31)]
LAST_REVISION = 2**31 - 1


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class Requester(_Open):
    id: Id


class Snapshot(_Open):
    request_id: Id
    revision: Revision
    requester: Requester
    currency: StrictStr
    total: StrictStr

    @model_validator(mode="before")
    @classmethod
    def _storable(cls, data: Any) -> Any:
        if "\\u0000" in json.dumps(data):
            raise ValueError("the request contains a NUL character, which cannot be stored")
        return data


class Submitted(_Open):
    request: Snapshot


class RequestRef(_Open):
    request_id: StrictStr | None = None
    revision: StrictInt
    reason: Any = None

    def request_id_of(self, event: CloudEvent) -> str:
        request_id = self.request_id or event.subject
        if not request_id or len(request_id) > 200:
            raise PermanentEventError(f"{event.type} {event.id}: data.request_id is missing or too long")
        return request_id


class Owner(_Open):
    id: Id
    name: Annotated[StrictStr, Field(max_length=200)] = ""
    email: Annotated[StrictStr, Field(max_length=320)] = ""


class BudgetChecked(_Open):
    """``budget.checked`` (backoffice.budgets) as far as routing needs it."""

    request_id: Id
    revision: Revision
    status: Literal["within_budget", "over_budget", "no_budget"]
    reason: Annotated[StrictStr, Field(max_length=100, pattern=r"^[^\x00]*$")] | None = None
    over_by: Annotated[StrictStr, Field(max_length=40, pattern=r"^-?[0-9]+(\.[0-9]+)?$")] | None = None
    currency: Annotated[StrictStr, Field(pattern=r"^[A-Z]{3}$")] | None = None
    owner: Owner | None = None

    def check(self) -> BudgetCheck:
        owner = Person(self.owner.id, self.owner.name, self.owner.email) if self.owner else None
        return BudgetCheck(
            status=self.status, reason=self.reason or "", over_by=self.over_by, currency=self.currency, owner=owner
        )


def build_handlers(settings: Settings) -> dict[str, Handler]:
    async def on_submitted(event: CloudEvent, uow: ApprovalsUnitOfWork) -> str:
        parse_payload(Submitted, event)
        return await start_chain(uow=uow, snapshot=event.data["request"], settings=settings, cause=event)

    async def on_revised(event: CloudEvent, uow: ApprovalsUnitOfWork) -> str:
        ref = parse_payload(RequestRef, event)
        return await withdraw_request(
            uow=uow,
            request_id=ref.request_id_of(event),
            up_to_revision=ref.revision - 1,
            reason=f"revised to revision {ref.revision}",
            cause=event,
        )

    async def on_cancelled(event: CloudEvent, uow: ApprovalsUnitOfWork) -> str:
        ref = parse_payload(RequestRef, event)
        reason = str(ref.reason or "no reason given")[:500]
        return await withdraw_request(
            uow=uow,
            request_id=ref.request_id_of(event),
            up_to_revision=LAST_REVISION,
            reason=f"request cancelled: {reason}",
            cause=event,
        )

    async def on_budget_checked(event: CloudEvent, uow: ApprovalsUnitOfWork) -> str:
        checked = parse_payload(BudgetChecked, event)
        return await record_budget_check(
            uow=uow,
            request_id=checked.request_id,
            revision=checked.revision,
            check=checked.check(),
            settings=settings,
            cause=event,
        )

    handlers: dict[str, Handler] = {
        "purchase_request.submitted": on_submitted,
        "purchase_request.revised": on_revised,
        "purchase_request.cancelled": on_cancelled,
        "budget.checked": on_budget_checked,
    }
    return handlers
