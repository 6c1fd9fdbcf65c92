"""Reminders at the start of an item's due day, without I/O."""

from __future__ import annotations

from datetime import UTC, date, datetime

from backoffice_checklists.domain.checklists import Checklist
from backoffice_checklists.domain.employees import Employee
from backoffice_checklists.domain.standard import standard_templates
from backoffice_checklists.domain.timing import REMIND, timers_of

NOW = datetime(2027, 1, 10, 9, 0, tzinfo=UTC)
ONBOARDING = next(t for t in standard_templates() if t.key == "onboarding-en")


def started(start_date: date) -> Checklist:
    employee = Employee(id="e-1", name="Erika", language="en", start_date=start_date, manager_id="mona")
    return Checklist.start(id="c-1", template=ONBOARDING, employee=employee, now=NOW)


def test_a_reminder_at_the_start_of_each_due_day_still_ahead_in_the_company_zone() -> None:
    checklist = started(date(2027, 1, 20))
    reminders = {
        ref.split("/")[1]: at
        for kind, ref, at in timers_of(checklist, checklist.items, "Europe/Berlin", now=NOW)
        if kind == REMIND
    }
    due = {i.key: i.due_on for i in checklist.items}
    # contract_filed was due on 6 January: that day has begun long ago, no reminder
    assert due["contract_filed"] < NOW.date()
    assert "contract_filed" not in reminders
    ahead = {key for key, day in due.items() if day > NOW.date()}
    assert set(reminders) == ahead
    laptop_day = due["laptop"]
    assert reminders["laptop"] == datetime(laptop_day.year, laptop_day.month, laptop_day.day - 1, 23, 0, tzinfo=UTC)
    assert not any(kind == REMIND for kind, _, _ in timers_of(checklist, checklist.items, "Europe/Berlin"))


def test_only_a_ready_open_item_is_reminded_once_per_due_day() -> None:
    checklist = started(date(2027, 1, 20))
    checklist.take_events()
    assert checklist.remind("contract_filed", now=NOW)
    [reminder] = checklist.take_events()
    assert reminder.type == "checklist.item_reminder_due"
    assert reminder.data["item"]["key"] == "contract_filed"
    assert not checklist.remind("personnel_data", now=NOW), "waiting for the contract: nothing to do yet"
    checklist.complete_item("contract_filed", evidence={"document_reference": "DMS-1"}, by="hanna", now=NOW)
    assert not checklist.remind("contract_filed", now=NOW)
    assert checklist.mark_overdue("personnel_data", now=NOW)
    assert not checklist.remind("personnel_data", now=NOW), "overdue already said more"
    checklist.cancel(reason="offer withdrawn", now=NOW)
    assert not checklist.remind("accounts", now=NOW)
