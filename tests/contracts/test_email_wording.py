"""The German emails to people say what the console says (backoffice_console.i18n): the subject of an email about
a request's step begins with the console's label of that step, a request is an "Antrag", an approval a "Freigabe"."""

from __future__ import annotations

import re
from typing import Any

import pytest

from backoffice_console import i18n
from backoffice_notifications.mail.catalog import CATALOG, STAFF_DE
from backoffice_notifications.mail.render import render

PERSON = {"name": "Alice", "email": "alice@example.com"}
# email template -> (the event its subject names, a context it renders with)
SUBJECTS: dict[str, tuple[str, dict[str, Any]]] = {
    "changes_requested": (
        "purchase_request.changes_requested",
        {"requester": PERSON, "decided_by": PERSON, "number": "PR-9", "comment": "x", "request_url": "http://x/r"},
    ),
    "request_approved": ("purchase_request.approved", {"requester": PERSON, "number": "PR-9", "title": "Laptops"}),
    "request_rejected": (
        "purchase_request.rejected",
        {"requester": PERSON, "decided_by": PERSON, "number": "PR-9", "comment": "x"},
    ),
    "contract_voided": ("contract.voided", {"requester": PERSON, "number": "PR-9", "reason": "x"}),
    "contract_expired": ("contract.expired", {"requester": PERSON, "number": "PR-9"}),
}


@pytest.mark.parametrize("template", sorted(SUBJECTS))
def test_a_german_email_about_a_step_begins_with_the_consoles_label_of_it(template: str) -> None:
    event_type, context = SUBJECTS[template]
    mail = render(template, "de", context)
    assert mail.subject.startswith(f"{i18n.event_label('de', event_type)}: PR-9")


def test_changes_requested_reads_as_the_console_words_it() -> None:
    mail = render("changes_requested", "de", SUBJECTS["changes_requested"][1])
    assert mail.subject == "Änderungen angefordert: PR-9"
    assert i18n.GERMAN["changes_requested"] == "Änderungen angefordert"
    assert "Alice hat Änderungen an Ihrem Antrag PR-9 angefordert." in mail.text
    assert f"{i18n.GERMAN['Revise request']}: http://x/r" in mail.text


def test_the_german_staff_emails_say_antrag_and_freigabe_never_the_old_words() -> None:
    german = [part for name in STAFF_DE for part in CATALOG[name]["de"]]
    old = re.compile("genehmig|Bestellanforderung|Änderungen erbeten", re.IGNORECASE)
    assert [text for text in german if old.search(text)] == []
    assert i18n.GERMAN["Request"] == "Antrag"
    assert any("Antrag" in text for text in german)
    assert any("Freigabe" in text for text in german)
