"""Timeline notes: a machine code with parameters, written for people in English or German (pure)."""

from __future__ import annotations

from backoffice_requests.domain.notes import TEMPLATES, Note, language_of, note_of, render_note


def test_every_note_code_is_worded_in_english_and_german() -> None:
    assert {code for code, wordings in TEMPLATES.items() if set(wordings) != {"en", "de"}} == set()


def test_an_approval_wait_names_the_approver_and_the_step_in_the_readers_language() -> None:
    note = note_of("approval.task_assigned", {"assignee": {"id": "bob", "name": "Bob"}, "step": "manager"})
    assert note == Note("task_assigned", {"assignee": "Bob", "step": "manager"})
    assert render_note(note, "en") == "Waiting for the approval of Bob (step manager)"
    assert render_note(note, "de") == "Wartet auf die Freigabe von Bob (Schritt manager)"


def test_what_a_person_wrote_is_quoted_as_written_in_every_language() -> None:
    revised = note_of(
        "purchase_request.revised",
        {"revision": 2, "changed_fields": ["lines", "total"], "comment": "cheaper model"},
    )
    assert render_note(revised, "en") == "Revised to revision 2 (changed: lines, total) — comment: cheaper model"
    assert (
        render_note(revised, "de") == "Überarbeitet zu Revision 2 (geändert: lines, total) — Kommentar: cheaper model"
    )
    receipt = note_of("purchase_request.receipt_confirmed", {"fully_received": False, "note": "one box dented"})
    assert render_note(receipt, "de") == "Ware teilweise erhalten — Hinweis: one box dented"
    assert render_note(note_of("purchase_request.receipt_confirmed", {"fully_received": True}), "en") == (
        "Goods received in full"
    )
    closed = note_of("purchase_request.closed", {"short_closed": True, "reason": "vendor out of stock"})
    assert (closed.code, render_note(closed, "de")) == (
        "closed_short",
        "Abgeschlossen vor vollständiger Lieferung: vendor out of stock",
    )
    assert render_note(note_of("purchase_request.closed", {"short_closed": False, "reason": ""}), "en") == "Closed"


def test_decisions_signatures_and_failures_have_their_own_codes() -> None:
    decided = note_of(
        "approval.task_decided",
        {"decision": "changes_requested", "decided_by": {"name": "Mike"}, "step": "head", "comment": "split it"},
    )
    assert render_note(decided, "en") == "Mike asks for changes (step head) — comment: split it"
    assert note_of("contract.signed", {"party": "buyer"}).code == "contract_signed_buyer"
    assert note_of("vendor.contract_signed", {}).code == "contract_signed_vendor"
    declined = note_of("vendor.declined", {"reason": "no stock"})
    assert render_note(declined, "de") == "Der Lieferant hat die Bestellung abgelehnt: no stock"
    failed = note_of("notification.failed", {"error": "550 mailbox unknown"})
    assert render_note(failed, "en") == "A message could not be delivered: 550 mailbox unknown"


def test_an_unknown_event_keeps_its_type_as_the_note() -> None:
    note = note_of("something.new", {"x": 1})
    assert note == Note("event", {"type": "something.new"})
    assert render_note(note, "de") == "something.new"


def test_the_readers_language_comes_from_accept_language_by_quality() -> None:
    assert language_of("de-DE,de;q=0.9,en;q=0.8") == "de"
    assert language_of("fr, en;q=0.5, de;q=0.7") == "de"
    assert language_of("de;q=0, en") == "en"
    assert language_of("fr") == "en"
    assert language_of(None) == "en"
    assert language_of("de;q=x") == "en"
