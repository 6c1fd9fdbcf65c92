"""The webhook client connects to the addresses it checked, never to a second DNS answer.

A real HTTP server on loopback stands for the vendor's system. The host name in the URL does not
exist in DNS (``.invalid``); only the checked answer says where it is, so a call that arrives proves
the connection used the checked address and did not look the name up again.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpcore
import pytest

from backoffice_notifications.domain.deliveries import DeliveryError
from backoffice_notifications.settings import Settings
from backoffice_notifications.webhooks import client as webhook


class VendorSystem:
    def __init__(self) -> None:
        self.requests: list[bytes] = []
        self.port = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            (
                int(line.split(b":", 1)[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            ),
            0,
        )
        body = await reader.readexactly(length)
        self.requests.append(head + body)
        writer.write(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n")
        await writer.drain()
        writer.close()


@pytest.fixture
async def vendor_system() -> AsyncIterator[VendorSystem]:
    system = VendorSystem()
    server = await asyncio.start_server(system.handle, "127.0.0.1", 0)
    system.port = server.sockets[0].getsockname()[1]
    async with server:
        yield system


SETTINGS = Settings(environment="development", webhook_allow_private_targets=True)


async def test_the_call_goes_to_the_checked_address_without_a_second_lookup(
    vendor_system: VendorSystem, monkeypatch: pytest.MonkeyPatch
) -> None:
    lookups: list[str] = []

    async def checked_answer(host: str) -> list[str]:
        lookups.append(host)
        return ["127.0.0.1"]

    monkeypatch.setattr(webhook, "resolve", checked_answer)
    url = f"http://vendor-hooks.invalid:{vendor_system.port}/hook"
    async with webhook.webhook_client() as http:
        status = await webhook.post_signed(
            http,
            url=url,
            payload={"a": 1},
            secrets_=["whsec_dGVzdHNlY3JldHRlc3RzZWNyZXQ="],
            msg_id="m1",
            settings=SETTINGS,
        )
    assert status == 204
    assert lookups == ["vendor-hooks.invalid"]
    [received] = vendor_system.requests
    assert b"host: vendor-hooks.invalid:" in received.lower()
    assert received.endswith(b'{"a":1}')


async def test_a_private_answer_is_refused_before_any_connection(
    vendor_system: VendorSystem, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def rebinding_answer(host: str) -> list[str]:
        return ["127.0.0.1"]

    monkeypatch.setattr(webhook, "resolve", rebinding_answer)
    strict = Settings(environment="development", webhook_allow_private_targets=False)
    async with webhook.webhook_client() as http:
        with pytest.raises(DeliveryError) as refused:
            await webhook.post_signed(
                http,
                url=f"https://vendor-hooks.invalid:{vendor_system.port}/hook",
                payload={},
                secrets_=["whsec_dGVzdHNlY3JldHRlc3RzZWNyZXQ="],
                msg_id="m2",
                settings=strict,
            )
    assert refused.value.permanent
    assert vendor_system.requests == []


async def test_the_client_refuses_a_host_whose_address_was_not_checked(vendor_system: VendorSystem) -> None:
    with pytest.raises(httpcore.ConnectError, match="not checked"):
        await webhook.PinnedBackend().connect_tcp("127.0.0.1", vendor_system.port)
    async with webhook.webhook_client() as http:
        with pytest.raises(Exception, match="not checked"):
            await http.get(f"http://127.0.0.1:{vendor_system.port}/hook")
    assert vendor_system.requests == []
