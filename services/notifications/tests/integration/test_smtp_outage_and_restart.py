from __future__ import annotations

import asyncio
import os
from email import message_from_bytes
from email.policy import default as default_policy
from typing import Any

from aiosmtpd.controller import Controller
from notifications_flows import make_vendor
from notifications_testkit import (
    MIGRATIONS,
    SECRET_ANNOUNCEMENTS,
    approved,
    free_port,
    make_settings,
    snapshot,
    staff,
    unique_email,
)

from backoffice_common.events import new_event
from backoffice_common.testing import (
    TopicReader,
    app_client,
    eventually,
    private_database,
    publish_events,
    unique_prefix,
)
from backoffice_notifications.main import create_app


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content, policy=default_policy))
        return "250 OK"

    def without_announcements(self) -> list[Any]:
        return [m for m in self.messages if m["Subject"] not in SECRET_ANNOUNCEMENTS]

    def to(self, address: str) -> list[Any]:
        """The mails to ``address``, without the announcement of the vendor's renewed webhook secret."""
        return [m for m in self.messages if m["To"] == address and m["Subject"] not in SECRET_ANNOUNCEMENTS]


class Service:
    """Just enough of the conftest Service for make_vendor."""

    def __init__(self, client: Any) -> None:
        self.client = client


async def test_an_smtp_server_that_is_down_gets_the_mail_after_a_manual_retry_and_after_a_restart(tmp_path) -> None:  # type: ignore[no-untyped-def]
    bootstrap = os.environ["BACKOFFICE_KAFKA_BOOTSTRAP"]
    prefix = unique_prefix()
    port = free_port()
    inbox = Inbox()
    async with private_database(MIGRATIONS) as url:
        settings = make_settings(
            url,
            prefix,
            smtp_port=port,
            delivery_max_attempts=3,
            delivery_backoff_initial_seconds=1.0,
            delivery_backoff_max_seconds=2.0,
        )
        async with TopicReader(bootstrap, prefix + "backoffice.notifications") as events:
            async with app_client(create_app(settings)) as client:
                vendor = await make_vendor(Service(client), retrieve=False)
                contact = vendor["contact_emails"][0]
                first = snapshot(vendor_id=vendor["id"], requester_email="")
                await publish_events(bootstrap, prefix + "backoffice.approvals", [approved(first)])
                failed = await events.wait_for("notification.failed", subject=first["request_id"])
                assert failed[0].data["attempts"] == 3
                assert failed[0].data["recipient"] == contact
                assert failed[0].data["template"] == "purchase_order"
                assert "SMTP unavailable" in failed[0].data["error"]
                delivery_id = failed[0].data["delivery_id"]
                shown = (await client.get(f"/deliveries/{delivery_id}", headers=staff())).json()
                assert shown["status"] == "failed"
                assert shown["attempts"] == 3
                assert not events.of_type("vendor.notified", subject=first["request_id"])

                controller = Controller(inbox, hostname="127.0.0.1", port=port)
                controller.start()
                try:
                    r = await client.post(f"/deliveries/{delivery_id}/retry", headers=staff())
                    assert r.status_code == 202
                    await events.wait_for("vendor.notified", subject=first["request_id"])
                    assert len(inbox.to(contact)) == 1
                    again = await client.post(f"/deliveries/{delivery_id}/retry", headers=staff())
                    assert again.status_code == 409
                finally:
                    controller.stop()

                second = snapshot(vendor_id=vendor["id"], requester_email=unique_email("alice"))
                await publish_events(bootstrap, prefix + "backoffice.approvals", [approved(second)])

                async def attempted() -> Any:
                    r = await client.get("/deliveries", params={"request_id": second["request_id"]}, headers=staff())
                    return [d for d in r.json() if d["attempts"] >= 1]

                await eventually(attempted)
            # The service stopped with a delivery pending; the SMTP server comes back; the service restarts.
            controller = Controller(inbox, hostname="127.0.0.1", port=port)
            controller.start()
            try:
                async with app_client(create_app(settings)) as client:
                    await events.wait_for("vendor.notified", subject=second["request_id"], timeout=30)
                    await eventually(lambda: _count(inbox, second["requester"]["email"], 1))
                    await asyncio.sleep(1.0)
                    assert len(inbox.to(contact)) == 2, "one mail per order: nothing forgotten, nothing sent twice"
                    assert len(events.of_type("vendor.notified", subject=second["request_id"])) == 1
                    subjects = sorted(m["Subject"] for m in inbox.to(contact))
                    assert subjects == sorted(
                        [
                            f"Purchase order {first['number']}: Laptops for the team",
                            f"Purchase order {second['number']}: Laptops for the team",
                        ]
                    )
            finally:
                controller.stop()


async def _count(inbox: Inbox, address: str, n: int) -> bool:
    return len(inbox.to(address)) >= n


async def test_an_order_still_queued_when_the_request_is_cancelled_is_never_sent_and_needs_no_cancellation() -> None:
    bootstrap = os.environ["BACKOFFICE_KAFKA_BOOTSTRAP"]
    prefix = unique_prefix()
    port = free_port()
    inbox = Inbox()
    async with private_database(MIGRATIONS) as url:
        settings = make_settings(
            url,
            prefix,
            smtp_port=port,
            delivery_max_attempts=50,
            delivery_backoff_initial_seconds=0.2,
            delivery_backoff_max_seconds=0.5,
        )
        async with app_client(create_app(settings)) as client:
            vendor = await make_vendor(Service(client), retrieve=False)
            snap = snapshot(vendor_id=vendor["id"], requester_email="")
            await publish_events(bootstrap, prefix + "backoffice.approvals", [approved(snap)])

            async def deliveries() -> list[dict[str, Any]]:
                r = await client.get("/deliveries", params={"request_id": snap["request_id"]}, headers=staff())
                return list(r.json())

            async def retrying() -> bool:
                return any(d["attempts"] >= 1 and d["status"] == "pending" for d in await deliveries())

            await eventually(retrying)
            cancelled = new_event(
                type="purchase_request.cancelled",
                service="requests",
                subject=snap["request_id"],
                data={
                    "schema_version": 1,
                    "request_id": snap["request_id"],
                    "revision": 1,
                    "reason": "Too late",
                    "previous_status": "approved",
                    "vendor_id": vendor["id"],
                    "actor": {"id": "alice", "name": "Alice", "role": "requester"},
                },
            )
            await publish_events(bootstrap, prefix + "backoffice.requests", [cancelled])

            async def withdrawn() -> bool:
                return all(d["status"] == "withdrawn" for d in await deliveries())

            await eventually(withdrawn)
            controller = Controller(inbox, hostname="127.0.0.1", port=port)
            controller.start()
            try:
                await asyncio.sleep(1.5)
                assert inbox.without_announcements() == []
                templates = {d["template"] for d in await deliveries()}
                assert templates == {"purchase_order"}
            finally:
                controller.stop()
