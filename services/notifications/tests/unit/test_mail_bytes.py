"""The email's bytes written directly (``build_mail``) are the bytes aiosmtplib made of ``build_message``."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from aiosmtplib.email import extract_recipients, extract_sender, flatten_message

from backoffice_notifications.mail.smtp import Mail, build_mail, build_message
from backoffice_notifications.settings import Settings

DATE = "Mon, 30 Nov 2026 10:17:26 -0000"
BOUNDARY = "===============0123456789012345678=="
GERMAN = "Guten Tag Jörg Müller,\n\nbitte prüfen Sie die Bestellung.\nhttps://backoffice.example/requests/1\n" * 3
LONG = "Contract 0eea6557-2497-462c-9b49-368e13fb3bb0 for PR-000012 awaits the buyer's signature"


def flattened(settings: Settings, **fields: str | None) -> Mail:
    message = build_message(settings=settings, **fields)  # type: ignore[arg-type]
    message.replace_header("Date", DATE)
    if message.is_multipart():
        message.set_boundary(BOUNDARY)
    sender = extract_sender(message)
    assert sender is not None
    return Mail(sender=sender, recipients=extract_recipients(message), content=flatten_message(message))


@pytest.mark.parametrize(
    ("mail_from", "recipient", "subject", "text", "html"),
    [
        (
            "Einkauf Müller GmbH <einkauf@backoffice.example>",
            "vendor@example.com",
            "Größe über 10.000 €",
            GERMAN,
            "<p>ä</p>",
        ),
        (
            "Procurement <procurement@backoffice.example>",
            "Jörg Müller <joerg@example.com>",
            LONG,
            "Signed.\n",
            "<p>x</p>",
        ),
        ("procurement@backoffice.example", "Rita <rita@example.com>", "Your request was approved", "Approved.", None),
        (
            "Procurement <procurement@backoffice.example>",
            "rita@example.com",
            "Bestellung " + "sehr lang " * 12,
            GERMAN,
            None,
        ),
    ],
)
def test_the_bytes_and_the_envelope_are_those_of_the_email_package(
    mail_from: str, recipient: str, subject: str, text: str, html: str | None
) -> None:
    settings = Settings(environment="development", mail_from=mail_from)
    fields = {"delivery_id": "d-1", "recipient": recipient, "subject": subject, "text": text, "html": html}
    expected = flattened(settings, language="de", **fields)
    got = build_mail(settings=settings, language="de", boundary=BOUNDARY, date=DATE, **fields)  # type: ignore[arg-type]
    assert got == expected
    parsed = message_from_bytes(got.content, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    assert parsed["Subject"] == subject
    plain = parsed.get_body(preferencelist=("plain",))
    assert plain is not None
    assert plain.get_content() == text


def test_a_fresh_boundary_each_time_and_todays_date() -> None:
    settings = Settings(environment="development")
    fields = {"delivery_id": "d-2", "recipient": "a@example.com", "subject": "s", "text": "t\n", "language": "en"}
    first, second = (build_mail(settings=settings, html="<p>h</p>", **fields) for _ in range(2))
    assert first.content != second.content
    parsed = message_from_bytes(first.content, policy=policy.default)
    assert parsed["Date"].datetime is not None
    assert parsed.get_boundary().startswith("===============")
