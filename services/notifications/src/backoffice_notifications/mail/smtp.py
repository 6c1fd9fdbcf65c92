"""Sends rendered emails over SMTP with aiosmtplib, one connection per batch."""

from __future__ import annotations

import contextlib
from email.message import EmailMessage
from email.utils import formatdate
from types import TracebackType

import aiosmtplib

from backoffice_notifications.domain.deliveries import DeliveryError
from backoffice_notifications.settings import Settings


def message_id(delivery_id: str) -> str:
    return f"<{delivery_id}@backoffice.notifications>"


def build_message(
    *, settings: Settings, delivery_id: str, recipient: str, subject: str, text: str, html: str | None, language: str
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = recipient
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    # Stable per delivery (make_msgid would add time, pid and randomness): a mail re-sent after a crash
    # mid-send carries the same id, so receivers can drop the repeat.
    message["Message-ID"] = message_id(delivery_id)
    message["Content-Language"] = language
    message["X-Backoffice-Delivery"] = delivery_id
    message.set_content(text)
    if html:
        message.add_alternative(html, subtype="html")
    return message


class SmtpSession:
    """``async with SmtpSession(settings) as smtp: await smtp.send(message)``; connects lazily."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._client: aiosmtplib.SMTP | None = None

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

    async def _connect(self) -> aiosmtplib.SMTP:
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
        return self._client

    async def send(self, message: EmailMessage) -> None:
        try:
            client = await self._connect()
            errors, _ = await client.send_message(message)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            raise DeliveryError(f"recipient refused: {exc}", permanent=True) from exc
        except aiosmtplib.SMTPResponseException as exc:
            await self._close()
            raise DeliveryError(f"SMTP {exc.code}: {exc.message}", permanent=500 <= exc.code < 600) from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            await self._close()
            raise DeliveryError(f"SMTP unavailable: {exc!r}", permanent=False) from exc
        if errors:
            raise DeliveryError(f"recipients refused: {errors}", permanent=True)
