"""The parts of other services' payloads this service reads (docs/events.md); the rest is ignored."""

from __future__ import annotations

from abc import abstractmethod
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Loose(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Person(Loose):
    id: str
    name: str = ""
    email: str = ""
    language: str | None = None
    """BCP 47, from the approver directory; absent for someone it does not list (English then)."""


class Snapshot(Loose):
    model_config = ConfigDict(extra="allow")
    request_id: str
    number: str = ""
    revision: int
    title: str = ""
    requester: Person
    vendor_id: str | None = None
    currency: str = ""
    lines: list[dict[str, Any]] = []
    total: str = ""
    needed_by: str | None = None


class WithRequest(Loose):
    request: Snapshot


class Approved(WithRequest):
    requester: Person | None = None
    """The requester with their language from the approver directory (absent in older events)."""


class Cancelled(Loose):
    request_id: str
    revision: int | None = None
    reason: str = ""
    vendor_id: str | None = None


class TaskEvent(Loose):
    """An approval task event: whom to email, and which task the email links to (each kind says; pydantic's
    model class is an ``ABCMeta``, so the base itself cannot be made)."""

    request_id: str

    @property
    @abstractmethod
    def recipient(self) -> Person:
        """Whom the email goes to."""

    @property
    @abstractmethod
    def linked_task_id(self) -> str:
        """The task the email links to."""


class ReminderDue(TaskEvent):
    task_id: str
    assignee: Person
    due_at: str | None = None

    @property
    def recipient(self) -> Person:
        return self.assignee

    @property
    def linked_task_id(self) -> str:
        return self.task_id


class TaskAssigned(ReminderDue):
    on_behalf_of: Person | None = None
    request_title: str = ""
    request_number: str = ""


class Escalated(TaskEvent):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)
    new_task_id: str
    from_: Person = Field(alias="from")
    to: Person
    reason: str = ""

    @property
    def recipient(self) -> Person:
        return self.to

    @property
    def linked_task_id(self) -> str:
        return self.new_task_id


class Decided(Loose):
    request_id: str
    revision: int | None = None
    comment: str | None = ""
    decided_by: Person
    requester: Person


class ContractGenerated(Loose):
    contract_id: str
    request_id: str
    revision: int | None = None
    vendor_id: str
    document_sha256: str
    document_url: str
    expires_at: str | None = None
    language: str | None = None
    signing_order: str = "any"


class ContractSigned(Loose):
    contract_id: str
    request_id: str
    party: str
    signing_order: str = "any"
    awaiting: list[str] = []


class ContractExecuted(Loose):
    contract_id: str
    request_id: str
    executed_sha256: str = ""
    document_url: str | None = None


class ContractClosed(Loose):
    contract_id: str
    request_id: str
    reason: str = ""


class TaskWithdrawn(Loose):
    task_id: str
    request_id: str
    assignee: Person
    reason: str = ""


class ChainBlocked(Loose):
    chain_id: str
    request_id: str
    revision: int | None = None
    reason: str = ""
    requester: Person
    request_title: str = ""
    request_number: str = ""


class ThresholdCrossed(Loose):
    model_config = ConfigDict(extra="allow")
    budget_id: str
    cost_center: str
    cost_center_name: str = ""
    owner: Person
    period: str = ""
    currency: str = ""
    threshold_percent: int | str
    utilisation_percent: int | float | str = ""
    request_id: str | None = None


class ChecklistPerson(Loose):
    id: str | None = None
    name: str = ""
    email: str = ""


class ChecklistItem(Loose):
    key: str
    title: str
    assignee_group: str | None = None
    assignee_user: str | None = None
    due_on: str
    access_revocation: bool = False


class ChecklistItemEvent(Loose):
    """``checklist.item_ready`` / ``checklist.item_overdue``: the item, its checklist's employee and manager."""

    checklist_id: str
    kind: str
    language: str | None = None
    """The checklist's language (its template's); absent, the service's ``default_language``."""
    employee: ChecklistPerson
    manager: ChecklistPerson = ChecklistPerson()
    item: ChecklistItem
    escalated_to: str | None = None
    red_flag: bool = False
