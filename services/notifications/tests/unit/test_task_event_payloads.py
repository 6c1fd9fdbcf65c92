"""The approval task events: each kind names whom to email and which task to link; the base names none."""

from __future__ import annotations

import pytest

from backoffice_notifications.consumers.payloads import Escalated, ReminderDue, TaskAssigned, TaskEvent

PERSON = {"id": "u-1", "name": "Bob", "email": "bob@example.test"}


def test_the_base_of_the_task_events_cannot_be_made_on_its_own() -> None:
    with pytest.raises(TypeError, match="abstract"):
        TaskEvent(request_id="r-1")  # type: ignore[abstract]


def test_each_task_event_names_its_recipient_and_the_task_its_email_links_to() -> None:
    reminder = ReminderDue(request_id="r-1", task_id="t-1", assignee=PERSON)
    assert (reminder.recipient.email, reminder.linked_task_id) == ("bob@example.test", "t-1")
    assigned = TaskAssigned.model_validate({"request_id": "r-1", "task_id": "t-2", "assignee": PERSON})
    assert (assigned.recipient.id, assigned.linked_task_id) == ("u-1", "t-2")
    other = {**PERSON, "id": "u-2", "email": "carol@example.test"}
    escalated = Escalated.model_validate({"request_id": "r-1", "new_task_id": "t-3", "from": PERSON, "to": other})
    assert (escalated.recipient.email, escalated.linked_task_id) == ("carol@example.test", "t-3")
