"""Sends rendered emails over SMTP with aiosmtplib over a connection kept open between emails.

A delivery worker keeps one ``SmtpSession`` for its lifetime: the connection is opened on the first
email and reused while emails keep coming; one left idle for longer than ``IDLE_SECONDS`` is closed
and a fresh one opened (servers drop idle clients after a few minutes, RFC 5321 4.5.3.2.7). Where the server
advertises PIPELINING, an email's MAIL, RCPT and DATA go in one write (``mail.pipelining``): two round trips an
email instead of four, its errors classified as before."""

from __future__ import annotations

import base64
import contextlib
import random
import sys
import time
from dataclasses import dataclass
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formataddr, formatdate, parseaddr
from types import TracebackType

import aiosmtplib

from backoffice_notifications.domain.deliveries import DeliveryError
from backoffice_notifications.mail.pipelining import send_pipelined, supports_pipelining
from backoffice_notifications.settings import Settings


def message_id(delivery_id: str) -> str:
    return f"<{delivery_id}@backoffice.notifications>"


def _header(name: str, value: str) -> str:
    """ASCII as it is; anything else as RFC 2047 encoded words (UTF-8), folded for the header ``name``."""
    return value if value.isascii() else Header(value, "utf-8", header_name=name).encode()


def _address(value: str) -> str:
    """``Name <address>`` with a non-ASCII display name encoded (RFC 2047); the address as it is."""
    if value.isascii():
        return value
    name, address = parseaddr(value)
    return formataddr((name, address), "utf-8")


def build_message(
    *, settings: Settings, delivery_id: str, recipient: str, subject: str, text: str, html: str | None, language: str
) -> Message:
    """The email as a MIME message built with the ``compat32`` classes: the values are known to be well
    formed (addresses were checked when the delivery was recorded), so they are set as they are instead
    of going through the ``email.policy.default`` header parser, several times cheaper per email."""
    body = MIMEText(text, "plain", "utf-8")
    message: Message
    if html:
        message = MIMEMultipart("alternative")
        message.attach(body)
        message.attach(MIMEText(html, "html", "utf-8"))
    else:
        message = body
    message["From"] = _address(settings.mail_from)
    message["To"] = _address(recipient)
    message["Subject"] = _header("Subject", subject)
    message["Date"] = formatdate(localtime=False)
    # Stable per delivery (make_msgid would add time, pid and randomness): a mail re-sent after a crash
    # mid-send carries the same id, so receivers can drop the repeat.
    message["Message-ID"] = message_id(delivery_id)
    message["Content-Language"] = language
    message["X-Backoffice-Delivery"] = delivery_id
    return message


@dataclass(frozen=True)
class Mail:
    """An email ready for its SMTP transaction: the envelope and the message as ``build_message`` flattened
    by aiosmtplib would be (LF line ends: aiosmtplib sends them as CRLF, dot-stuffed)."""

    sender: str
    recipients: list[str]
    content: bytes


_MAX_LINE = 78  # compat32's max_line_length, which the generator folds headers to
_PART = 'Content-Type: text/{}; charset="utf-8"\nMIME-Version: 1.0\nContent-Transfer-Encoding: base64\n'


def _fold(name: str, value: str) -> str:
    """``name: value`` as the compat32 generator writes it (``Compat32._fold``): a short single-spaced ASCII
    value as it is (what ``Header.encode`` gives for one), anything else through ``Header.encode``."""
    if value.isascii() and len(name) + 2 + len(value) <= _MAX_LINE and value == " ".join(value.split()):
        return f"{name}: {value}\n"
    return f"{name}: {Header(value, header_name=name).encode(linesep=chr(10), maxlinelen=_MAX_LINE)}\n"


def _boundary() -> str:
    """As ``email.generator`` makes one: 15 ``=``, a random number of 19 digits, ``==`` (it cannot occur in
    base64 lines, so the generator's check against the parts is not needed)."""
    return "=" * 15 + f"{random.randrange(sys.maxsize):019d}" + "=="


def build_mail(
    *,
    settings: Settings,
    delivery_id: str,
    recipient: str,
    subject: str,
    text: str,
    html: str | None,
    language: str,
    boundary: str | None = None,
    date: str | None = None,
) -> Mail:
    """The bytes ``build_message`` + aiosmtplib's ``flatten_message`` give (compat32: base64 parts, headers folded
    at 78), written directly: the email package's objects, its copy, its generator and its header parsing per
    header were most of an email's CPU. ``boundary`` and ``date`` are for comparing with that path; an email
    outside what this writes (an empty part, an address that is not ASCII) is built by that path."""
    sender, to = parseaddr(settings.mail_from)[1] or settings.mail_from.strip(), parseaddr(recipient)[1]
    if not text or not (sender.isascii() and to.isascii() and to):
        return _flattened(
            build_message(
                settings=settings, delivery_id=delivery_id, recipient=recipient, subject=subject, text=text,
                html=html, language=language,
            )
        )  # fmt: skip
    headers = [
        ("From", _address(settings.mail_from)),
        ("To", _address(recipient)),
        ("Subject", _header("Subject", subject)),
        ("Date", date or formatdate(localtime=False)),
        ("Message-ID", message_id(delivery_id)),
        ("Content-Language", language),
        ("X-Backoffice-Delivery", delivery_id),
    ]
    tail = "".join(_fold(name, value) for name, value in headers)
    plain = base64.encodebytes(text.encode("utf-8")).decode("ascii")
    if not html:
        content = _PART.format("plain") + tail + "\n" + plain
    else:
        mark = boundary or _boundary()
        content = (
            _fold("Content-Type", f'multipart/alternative; boundary="{mark}"')
            + "MIME-Version: 1.0\n"
            + tail
            + f"\n--{mark}\n"
            + _PART.format("plain")
            + "\n"
            + plain
            + f"\n--{mark}\n"
            + _PART.format("html")
            + "\n"
            + base64.encodebytes(html.encode("utf-8")).decode("ascii")
            + f"\n--{mark}--\n"
        )
    return Mail(sender=sender, recipients=[to], content=content.encode("ascii"))


def _flattened(message: Message) -> Mail:
    from aiosmtplib.email import extract_recipients, extract_sender, flatten_message

    sender = extract_sender(message)
    assert sender is not None
    return Mail(sender=sender, recipients=extract_recipients(message), content=flatten_message(message))


class SmtpSession:
    """``async with SmtpSession(settings) as smtp: await smtp.send(message)``; connects lazily."""

    IDLE_SECONDS = 30.0

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._client: aiosmtplib.SMTP | None = None
        self._last_used = 0.0
        self.connections = 0

    async def __aenter__(self) -> SmtpSession:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._close()

    async def _close(self) -> None:
        if self._client is not None:
            with contextlib.suppress(Exception):  # the server may be gone already
                await self._client.quit()
            self._client = None

    async def close(self) -> None:
        await self._close()

    async def _connect(self) -> aiosmtplib.SMTP:
        if self._client is not None and time.monotonic() - self._last_used > self.IDLE_SECONDS:
            await self._close()
        if self._client is None or not self._client.is_connected:
            s = self._settings
            client = aiosmtplib.SMTP(
                hostname=s.smtp_host,
                port=s.smtp_port,
                timeout=s.smtp_timeout_seconds,
                start_tls=s.smtp_starttls,
                username=s.smtp_username or None,
                password=s.smtp_password or None,
            )
            await client.connect()
            self._client = client
            self.connections += 1
        return self._client

    async def send(self, message: Message | Mail) -> None:
        try:
            client = await self._connect()
            if isinstance(message, Mail):
                options = await _mail_options(client)
                if self._settings.smtp_pipelining and supports_pipelining(client):
                    errors, _ = await send_pipelined(
                        client, message.sender, message.recipients, message.content, mail_options=options
                    )
                else:
                    errors, _ = await client.sendmail(
                        message.sender, message.recipients, message.content, mail_options=options
                    )
            else:
                errors, _ = await client.send_message(message)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            raise DeliveryError(f"recipient refused: {exc}", permanent=True) from exc
        except aiosmtplib.SMTPResponseException as exc:
            await self._close()
            raise DeliveryError(f"SMTP {exc.code}: {exc.message}", permanent=500 <= exc.code < 600) from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            await self._close()
            raise DeliveryError(f"SMTP unavailable: {exc!r}", permanent=False) from exc
        finally:
            self._last_used = time.monotonic()
        if errors:
            raise DeliveryError(f"recipients refused: {errors}", permanent=True)


async def _mail_options(client: aiosmtplib.SMTP) -> list[str]:
    """The MAIL options ``send_message`` gives an ASCII envelope: ``BODY=8BITMIME`` where the server has it
    (after EHLO, or HELO where EHLO is refused, as aiosmtplib greets)."""
    if client.is_ehlo_or_helo_needed:
        try:
            await client.ehlo()
        except aiosmtplib.SMTPHeloError:
            await client.helo()
    return ["BODY=8BITMIME"] if client.supports_extension("8BITMIME") else []
