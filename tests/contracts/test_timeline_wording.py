"""The request timeline as the console shows it: the event label is the console's (backoffice_console.i18n), the
note the requests service's (backoffice_requests.domain.notes). Together they must not say the same thing
twice ("Entwurf angelegt — Entwurf angelegt"), and the German of both says "Freigabe", never "Genehmigung"."""

from __future__ import annotations

import re
from typing import Any

import pytest

from backoffice_console import i18n
from backoffice_console.insights import STAGE_LABELS
from backoffice_requests.domain import notes

# Every event type the timeline shows, with data of the kind it carries (a person's text as "x").
ENTRIES: dict[str, dict[str, Any]] = {
    "purchase_request.drafted": {},
    "purchase_request.draft_updated": {"changed_fields": ["title"]},
    "purchase_request.submitted": {},
    "purchase_request.revised": {"revision": 2, "changed_fields": ["lines"], "comment": "x"},
    "purchase_request.changes_requested": {"comment": "x"},
    "purchase_request.approved": {},
    "purchase_request.rejected": {"comment": "x"},
    "purchase_request.cancelled": {"reason": "x"},
    "purchase_request.vendor_reassigned": {"reason": "x"},
    "purchase_request.receipt_confirmed": {"fully_received": False, "note": "x"},
    "purchase_request.closed": {"short_closed": True, "reason": "x"},
    "approval.task_assigned": {"assignee": {"name": "Bob"}, "step": "manager"},
    "approval.task_decided": {"decision": "approved", "decided_by": {"name": "Bob"}, "step": "manager"},
    "approval.task_withdrawn": {"assignee": {"name": "Bob"}, "reason": "x"},
    "approval.reminder_due": {"assignee": {"name": "Bob"}},
    "approval.escalated": {"from": {"name": "Ann"}, "to": {"name": "Bob"}, "reason": "x"},
    "vendor.notified": {},
    "vendor.accepted": {"note": "x"},
    "vendor.declined": {"reason": "x"},
    "vendor.contract_signed": {},
    "contract.generated": {},
    "contract.signed": {"party": "buyer"},
    "contract.executed": {},
    "contract.voided": {"reason": "x"},
    "contract.expired": {},
    "notification.failed": {"error": "x"},
}


def _words(text: str) -> list[str]:
    return [w for w in re.findall(r"\w+", text.lower()) if w not in {"the", "a", "der", "die", "das", "ein", "eine"}]


def test_every_timeline_event_has_its_sample() -> None:
    timeline = {t for t in i18n.EVENT_LABELS if t.split(".", 1)[0] in {"purchase_request", "approval", "vendor"}}
    assert timeline <= set(ENTRIES)


@pytest.mark.parametrize("language", ["en", "de"])
@pytest.mark.parametrize("event_type", sorted(ENTRIES))
def test_a_timeline_entry_never_says_its_label_twice(event_type: str, language: str) -> None:
    label = i18n.event_label(language, event_type)
    note = notes.render_note(notes.note_of(event_type, ENTRIES[event_type]), language)
    shown = i18n.note_beyond(label, note)
    head = _words(label)
    assert _words(shown)[: len(head)] != head, f"{label} — {shown}"


def test_the_german_of_the_console_and_the_timeline_says_freigabe() -> None:
    german = [
        *(text for text in i18n.GERMAN.values()),
        *(de for _, de in i18n.EVENT_LABELS.values()),
        *(de for _, de in STAGE_LABELS.values()),
        *(forms["de"] for forms in notes.TEMPLATES.values()),
    ]
    assert [text for text in german if re.search("genehmig", text, re.IGNORECASE)] == []
    assert any("Freigabe" in text for text in german)
