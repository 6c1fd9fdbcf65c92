from __future__ import annotations

import pytest
from pydantic import ValidationError

from backoffice_notifications.mail.catalog import CATALOG
from backoffice_notifications.mail.render import render
from backoffice_notifications.settings import Settings

ORDER = {
    "number": "PR-000123",
    "title": "Laptops",
    "revision": 2,
    "needed_by": "2027-01-15",
    "currency": "EUR",
    "total": "2400.00",
    "lines": [
        {
            "line_no": 1,
            "description": "Laptop <b>",
            "quantity": "2",
            "unit": "pcs",
            "unit_price": "1200.00",
            "amount": "2400.00",
        }
    ],
}


def test_the_purchase_order_is_rendered_in_german_for_a_german_vendor() -> None:
    mail = render(
        "purchase_order",
        "de",
        {"vendor_name": "Muster GmbH", "request": ORDER, "respond_url": "http://x/l/1", "expires_at": "2026-12-11"},
    )
    assert mail.subject == "Bestellung PR-000123: Laptops"
    assert "Gesamt: 2.400,00 EUR" in mail.text
    assert "2 pcs x 1.200,00 EUR = 2.400,00 EUR" in mail.text
    assert "benötigt bis 15. Januar 2027" in mail.text
    assert "gültig bis 11. Dezember 2026" in mail.text
    assert mail.language == "de"
    assert '<a href="http://x/l/1">' in mail.html
    assert "Laptop &lt;b&gt;" in mail.html


def test_the_purchase_order_is_rendered_in_english_for_an_english_vendor() -> None:
    mail = render(
        "purchase_order",
        "en",
        {"vendor_name": "ACME", "request": ORDER, "respond_url": "http://x/l/1", "expires_at": "2026-12-11"},
    )
    assert mail.subject == "Purchase order PR-000123: Laptops"
    assert "Total: 2,400.00 EUR" in mail.text
    assert "needed by 15 January 2027" in mail.text


def test_a_reminder_writes_its_due_time_for_people_not_as_an_iso_timestamp() -> None:
    context = {"assignee": {"name": "Bob"}, "due_at": "2026-11-30T19:11:50.298986+00:00", "task_url": "u"}
    mail = render("task_reminder", "en", context)
    assert "30 November 2026, 19:11 UTC" in mail.text
    assert "2026-11-30T19:11:50" not in mail.text


def test_a_value_that_is_not_a_number_or_a_date_is_written_as_it_came() -> None:
    mail = render("task_reminder", "en", {"assignee": {"name": "Bob"}, "due_at": "soon", "task_url": "u"})
    assert "due on soon" in mail.text


def test_vendor_facing_templates_exist_in_english_and_german() -> None:
    for name in ("purchase_order", "order_cancelled", "contract_ready_vendor"):
        assert set(CATALOG[name]) == {"en", "de"}


def test_a_language_without_a_translation_falls_back_to_english() -> None:
    mail = render("request_approved", "fr", {"requester": {"name": "Alice"}, "number": "PR-1", "title": "T"})
    assert mail.language == "en"
    assert mail.subject == "Approved: PR-1 T"


def test_every_template_is_written_in_english_and_german() -> None:
    assert {name for name, languages in CATALOG.items() if set(languages) != {"en", "de"}} == set()


def test_a_regional_tag_uses_its_language_and_the_german_emails_format_for_germany() -> None:
    mail = render("task_assigned", "de-AT", TASK)
    assert mail.language == "de"
    assert mail.subject == "Freigabe erbeten: PR-9 Laptops"
    assert "in Vertretung für Dora bis 30. November 2026, 19:11 UTC" in mail.text
    english = render("task_assigned", "en", TASK)
    assert "on behalf of Dora by 30 November 2026, 19:11 UTC" in english.text


def test_the_german_staff_emails_write_numbers_and_dates_the_german_way() -> None:
    budget = {
        "owner": {"name": "Olga"},
        "cost_center": "CC-1",
        "cost_center_name": "Labor",
        "period": "2026",
        "threshold_percent": 80,
        "utilisation_percent": "81.5",
        "budgets_url": "u",
    }
    assert "zu 81,5 % genutzt" in render("budget_threshold", "de", budget).text
    accepted = {
        "requester": {"name": "Alice"},
        "number": "PR-1",
        "vendor_name": "ACME",
        "expected_delivery": "2027-01-10",
        "note": "",
    }
    assert "Voraussichtliche Lieferung: 10. Januar 2027." in render("vendor_accepted", "de", accepted).text


TASK = {
    "assignee": {"name": "Bob"},
    "on_behalf_of": {"name": "Dora"},
    "due_at": "2026-11-30T19:11:50.298986+00:00",
    "request_number": "PR-9",
    "request_title": "Laptops",
    "task_url": "u",
}


def test_a_missing_template_variable_fails_loudly_instead_of_sending_a_blank() -> None:
    with pytest.raises(Exception, match="undefined"):
        render("request_rejected", "en", {"number": "PR-1"})


def test_placeholder_keys_are_refused_outside_development() -> None:
    with pytest.raises(ValidationError, match="secret_encryption_key"):
        Settings(environment="production", jwt_secret="j" * 40)
    Settings(environment="development")


def test_the_default_language_must_be_a_language_tag() -> None:
    with pytest.raises(ValidationError, match="default_language"):
        Settings(environment="development", default_language="german!")
    with pytest.raises(ValidationError, match="procurement_language"):
        Settings(environment="development", procurement_language="1")
    assert Settings(environment="development", default_language="de-AT").procurement_language == "de-AT"
