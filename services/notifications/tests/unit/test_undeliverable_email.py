"""An email that can never be sent (a line break in the address) fails at once instead of being retried."""

from __future__ import annotations

import pytest

from backoffice_notifications.domain.deliveries import Delivery
from backoffice_notifications.jobs.deliveries import _email
from backoffice_notifications.settings import Settings


class UnusedSmtp:
    sent = 0

    async def send(self, message: object) -> None:
        self.sent += 1


def delivery(recipient: str) -> Delivery:
    return Delivery(
        id="d-1",
        event_id="e-1",
        correlation_id=None,
        request_id=None,
        revision=None,
        vendor_id=None,
        channel="email",
        recipient=recipient,
        template="task_assigned",
        language="en",
        subject="A task",
        body_text="Hello",
    )


@pytest.mark.parametrize(
    "recipient", ["alice@example.com\r\nBcc: everyone@example.com", "alice@example.com\n", "not-an-address"]
)
async def test_a_recipient_that_is_not_one_address_fails_permanently_without_reaching_smtp(recipient: str) -> None:
    smtp = UnusedSmtp()
    error = await _email(delivery(recipient), smtp=smtp, settings=Settings(environment="development"))  # type: ignore[arg-type]
    assert error is not None
    assert error.permanent
    assert "cannot be built" in str(error)
    assert smtp.sent == 0


async def test_a_good_address_is_handed_to_smtp() -> None:
    smtp = UnusedSmtp()
    error = await _email(delivery("alice@example.com"), smtp=smtp, settings=Settings(environment="development"))  # type: ignore[arg-type]
    assert error is None
    assert smtp.sent == 1
