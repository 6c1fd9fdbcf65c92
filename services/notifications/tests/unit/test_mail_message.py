"""The email as sent: built with the compat32 classes, read back with the strict modern parser."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage

from backoffice_notifications.mail.smtp import build_message, message_id
from backoffice_notifications.settings import Settings


def _settings(mail_from: str) -> Settings:
    return Settings(environment="development", mail_from=mail_from)


def _read(raw: bytes) -> EmailMessage:
    parsed = message_from_bytes(raw, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def test_a_german_email_with_both_parts_reads_back_as_written() -> None:
    message = build_message(
        settings=_settings("Einkauf Müller GmbH <einkauf@backoffice.example>"),
        delivery_id="d-1",
        recipient="vendor@example.com",
        subject="Bestellung PR-000001: Größe über 10.000 €",
        text="Guten Tag,\nbitte prüfen Sie die Bestellung.\n",
        html="<p>Guten Tag, bitte prüfen Sie die Bestellung.</p>",
        language="de",
    )
    parsed = _read(message.as_bytes())
    assert parsed["Subject"] == "Bestellung PR-000001: Größe über 10.000 €"
    assert parsed["From"].addresses[0].display_name == "Einkauf Müller GmbH"
    assert parsed["From"].addresses[0].addr_spec == "einkauf@backoffice.example"
    assert parsed["To"] == "vendor@example.com"
    assert parsed["Message-ID"] == message_id("d-1")
    assert parsed["Content-Language"] == "de"
    assert parsed["X-Backoffice-Delivery"] == "d-1"
    assert parsed["Date"]
    assert parsed.get_content_type() == "multipart/alternative"
    plain = parsed.get_body(preferencelist=("plain",))
    html = parsed.get_body(preferencelist=("html",))
    assert plain is not None
    assert plain.get_content() == "Guten Tag,\nbitte prüfen Sie die Bestellung.\n"
    assert html is not None
    assert "prüfen" in html.get_content()


def test_a_text_only_email_is_a_single_part() -> None:
    message = build_message(
        settings=_settings("Procurement <procurement@backoffice.example>"),
        delivery_id="d-2",
        recipient="rita@example.com",
        subject="Your request was approved",
        text="Approved.",
        html=None,
        language="en",
    )
    parsed = _read(message.as_bytes())
    assert parsed.get_content_type() == "text/plain"
    assert parsed.get_content() == "Approved."
    assert parsed["From"] == "Procurement <procurement@backoffice.example>"
    assert parsed["Subject"] == "Your request was approved"


def test_an_idle_worker_waits_for_the_next_retry_within_its_bounds() -> None:
    from datetime import UTC, datetime, timedelta

    from backoffice_notifications.jobs.deliveries import wait_until_due

    settings = Settings(environment="development", delivery_poll_interval_seconds=1, delivery_idle_poll_seconds=30)
    now = datetime(2030, 1, 1, tzinfo=UTC)
    assert wait_until_due(None, now=now, settings=settings) == 30  # nothing pending: NOTIFY wakes it
    assert wait_until_due(now + timedelta(seconds=7), now=now, settings=settings) == 7
    assert wait_until_due(now + timedelta(hours=1), now=now, settings=settings) == 30
    assert wait_until_due(now - timedelta(seconds=5), now=now, settings=settings) == 1  # held by another worker
