"""Purchase items, without I/O: the ready item asks for the manager's draft once, its receipt completes it."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from backoffice_checklists.domain.checklists import Checklist
from backoffice_checklists.domain.employees import Employee
from backoffice_checklists.domain.errors import InvalidTemplate
from backoffice_checklists.domain.templates import Due, Purchase, Template, TemplateItem

NOW = datetime(2027, 1, 10, 9, 0, tzinfo=UTC)
LAPTOP = Purchase("Laptop 14 inch", "1", "pcs", "1450.50", "EUR", "it_hardware")


def template(*, responsible: str = "manager", evidence: str = "purchase_received") -> Template:
    items = (
        TemplateItem("contract", "Contract", "hr", Due("start_date", -10)),
        TemplateItem(
            "laptop_order",
            "Order the laptop",
            responsible,
            Due("start_date", -5),
            evidence=evidence,  # type: ignore[arg-type]
            depends_on=("contract",),
            purchase=LAPTOP,
        ),
    )
    return Template("onb", "onboarding", "en", 1, "Onboarding", items)


def started(**kw: object) -> Checklist:
    base: dict[str, object] = {
        "id": "e-1",
        "name": "Erika",
        "language": "en",
        "start_date": date(2027, 2, 1),
        "department": "ENG",
        "manager_id": "mona",
        "manager_email": "mona@example.com",
    }
    employee = Employee(**{**base, **kw})  # type: ignore[arg-type]
    return Checklist.start(id="c-1", template=template(), employee=employee, now=NOW)


def test_a_ready_purchase_item_asks_once_for_the_managers_draft_with_a_stable_id() -> None:
    checklist = started()
    assert [e.type for e in checklist.take_events()] == ["checklist.started", "checklist.item_ready"]
    checklist.complete_item("contract", evidence={}, by="hanna", now=NOW)
    events = {e.type: e for e in checklist.take_events()}
    asked = events["checklist.purchase_requested"].data
    assert asked["manager"] == {"id": "mona", "email": "mona@example.com"}
    assert (asked["amount"], asked["currency"], asked["cost_center"]) == ("1450.50", "EUR", "ENG")
    assert asked["lines"] == [
        {"description": "Laptop 14 inch", "quantity": "1", "unit": "pcs", "unit_price": "1450.50"}
    ]
    assert asked["needed_by"] == "2027-01-27"
    again = started()
    again.complete_item("contract", evidence={}, by="hanna", now=NOW)
    assert again.item("laptop_order").purchase_request_id == asked["request_id"]


def test_the_receipt_of_its_order_completes_the_item_once_and_another_order_changes_nothing() -> None:
    checklist = started()
    checklist.complete_item("contract", evidence={}, by="hanna", now=NOW)
    request_id = checklist.item("laptop_order").purchase_request_id
    assert request_id is not None
    assert checklist.purchase_received("00000000-0000-0000-0000-000000000000", now=NOW) is None
    done = checklist.purchase_received(request_id, now=NOW)
    assert done is not None
    assert (done.status, done.done_by) == ("done", "requests")
    assert done.evidence == {"purchase_request_id": request_id}
    assert checklist.status == "completed"
    assert checklist.purchase_received(request_id, now=NOW) is None


def test_without_a_manager_nothing_is_ordered_and_hr_does_it_by_hand() -> None:
    checklist = started(manager_id=None)
    checklist.complete_item("contract", evidence={}, by="hanna", now=NOW)
    assert "checklist.purchase_requested" not in {e.type for e in checklist.take_events()}
    assert checklist.item("laptop_order").assignee_group == "hr"


def test_a_purchase_belongs_to_the_manager_with_the_purchase_received_evidence() -> None:
    with pytest.raises(InvalidTemplate, match="manager"):
        template(responsible="it")
    with pytest.raises(InvalidTemplate, match="go together"):
        template(evidence="confirmation")
