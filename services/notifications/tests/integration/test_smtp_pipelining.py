"""An email's MAIL, RCPT and DATA in one write where the server advertises PIPELINING (RFC 2920), against real
SMTP servers (aiosmtpd, and a scripted one for answers split or joined at will): the same bytes delivered as
without pipelining, every refusal classified as without it (permanent or transient, per recipient), the kept
connection usable after a refusal, a silent server a transient error."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import aiosmtplib
import pytest
from aiosmtpd.controller import Controller
from notifications_testkit import free_port

from backoffice_notifications.domain.deliveries import DeliveryError
from backoffice_notifications.mail.pipelining import send_pipelined
from backoffice_notifications.mail.smtp import Mail, SmtpSession, build_mail
from backoffice_notifications.settings import Settings

TEXT = "Hello,\n.a line that begins with a dot\n\nRegards\n"


def mail(i: int, recipient: str = "vendor@example.com") -> Mail:
    return build_mail(
        settings=Settings(environment="development"),
        delivery_id=f"d-{i}",
        recipient=f"Vendor <{recipient}>",
        subject=f"Order {i}",
        text=TEXT,
        html="<p>Hello</p>",
        language="en",
        boundary="===============0000000000000000001==",
        date="Mon, 30 Nov 2026 20:00:00 -0000",
    )


class Sink:
    """An aiosmtpd handler that records what arrived, refuses on demand, and tells whether the group's RCPT and
    DATA were already waiting in its input when MAIL was handled (the client pipelined)."""

    def __init__(self, *, pipelining: bool) -> None:
        self.pipelining = pipelining
        self.received: list[tuple[str, list[str], bytes]] = []
        self.grouped: list[bool] = []
        self.refuse: dict[str, str] = {}  # "MAIL", "RCPT:<address>", "DATA" -> the answer

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname
        return [*responses[:-1], "250-PIPELINING", responses[-1]] if self.pipelining else responses

    async def handle_MAIL(self, server: Any, session: Any, envelope: Any, address: str, options: list[str]) -> str:
        waiting = bytes(server._reader._buffer)
        self.grouped.append(b"RCPT TO:" in waiting and b"DATA\r\n" in waiting)
        if "MAIL" in self.refuse:
            return self.refuse["MAIL"]
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: list[str]) -> str:
        refusal = self.refuse.get(f"RCPT:{address}")
        if refusal:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if "DATA" in self.refuse:
            return self.refuse["DATA"]
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        return "250 Message accepted"


@asynccontextmanager
async def sink(*, pipelining: bool) -> AsyncIterator[tuple[Sink, Settings]]:
    handler, port = Sink(pipelining=pipelining), free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, decode_data=False)
    controller.start()
    try:
        yield handler, Settings(environment="development", smtp_port=port, smtp_timeout_seconds=2.0)
    finally:
        controller.stop()


async def test_a_pipelining_server_gets_each_email_in_two_round_trips_and_the_same_bytes_as_without() -> None:
    delivered: dict[bool, list[tuple[str, list[str], bytes]]] = {}
    for pipelining in (True, False):
        async with sink(pipelining=pipelining) as (handler, settings), SmtpSession(settings) as smtp:
            for i in range(3):
                await smtp.send(mail(i))
            assert smtp.connections == 1
            assert handler.grouped == [pipelining] * 3
            delivered[pipelining] = handler.received
    assert len(delivered[True]) == 3
    assert delivered[True] == delivered[False]
    assert b"\r\n..a line that begins with a dot" not in delivered[True][0][2]  # stuffed on the wire, not stored


async def test_the_setting_switched_off_sends_one_command_a_round_trip_to_a_pipelining_server() -> None:
    async with sink(pipelining=True) as (handler, settings):
        async with SmtpSession(settings.model_copy(update={"smtp_pipelining": False})) as smtp:
            await smtp.send(mail(0))
        async with SmtpSession(settings) as smtp:
            await smtp.send(mail(1))
    assert handler.grouped == [False, True]
    assert handler.received[0][2] != handler.received[1][2]
    assert [sender for sender, _, _ in handler.received] == [mail(0).sender, mail(1).sender]


REFUSALS = [
    ("MAIL", "451 4.3.0 Try again later", False),
    ("MAIL", "550 5.7.1 Sender rejected", True),
    ("RCPT:vendor@example.com", "450 4.2.0 Mailbox busy", True),  # every recipient refused: permanent, as before
    ("RCPT:vendor@example.com", "550 5.1.1 No such user", True),
    ("DATA", "451 4.3.0 Queue full", False),
    ("DATA", "554 5.6.0 Content rejected", True),
]


@pytest.mark.parametrize(("where", "answer", "permanent"), REFUSALS)
async def test_a_refusal_is_classified_as_without_pipelining_and_the_connection_still_serves(
    where: str, answer: str, permanent: bool
) -> None:
    errors: dict[bool, DeliveryError] = {}
    for pipelining in (True, False):
        async with sink(pipelining=pipelining) as (handler, settings), SmtpSession(settings) as smtp:
            handler.refuse[where] = answer
            with pytest.raises(DeliveryError) as refused:
                await smtp.send(mail(1))
            errors[pipelining] = refused.value
            handler.refuse.clear()
            await smtp.send(mail(2))  # the envelope was reset: the next email goes through
            assert [m[2].count(b"Order 2") for m in handler.received] == [1]
            assert handler.grouped[-1] is pipelining
    assert errors[True].permanent is errors[False].permanent is permanent
    assert str(errors[True]) == str(errors[False])


async def test_one_refused_recipient_of_two_is_reported_as_sendmail_reports_it() -> None:
    answers = {}
    for pipelining in (True, False):
        async with sink(pipelining=pipelining) as (handler, settings):
            handler.refuse["RCPT:b@example.com"] = "550 5.1.1 No such user"
            client = aiosmtplib.SMTP(hostname="127.0.0.1", port=settings.smtp_port, timeout=2)
            await client.connect()
            one = mail(1)
            if pipelining:
                answers[pipelining] = await send_pipelined(
                    client, one.sender, ["a@example.com", "b@example.com"], one.content
                )
            else:
                answers[pipelining] = await client.sendmail(one.sender, ["a@example.com", "b@example.com"], one.content)
            await client.quit()
            assert [m[1] for m in handler.received] == [["a@example.com"]]
    assert answers[True] == answers[False]
    assert answers[True][0] == {"b@example.com": (550, "5.1.1 No such user")}


@asynccontextmanager
async def scripted(answer: Callable[[bytes], list[bytes]]) -> AsyncIterator[Settings]:
    """A server that greets, advertises PIPELINING and answers each read with the chunks ``answer`` gives,
    written one by one with a pause between (an answer split across reads, several in one)."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 scripted\r\n")
        while data := await reader.read(65536):
            for chunk in answer(data):
                writer.write(chunk)
                await writer.drain()
                await asyncio.sleep(0.02)
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield Settings(environment="development", smtp_port=port, smtp_timeout_seconds=1.0)
    finally:
        server.close()


def script(data: bytes) -> list[bytes]:
    if data.startswith(b"EHLO"):
        return [b"250-scripted\r\n250-PIPEL", b"INING\r\n250 8BITMIME\r\n"]
    if data.startswith(b"MAIL"):
        assert data.count(b"\r\n") == 3  # MAIL, RCPT, DATA in one write
        return [b"250 O", b"K\r\n250-first line\r\n250 second", b" line\r\n354 go ahead\r\n"]
    if data.endswith(b"\r\n.\r\n"):
        return [b"250 queued as 1\r\n"]
    return [b"250 OK\r\n"] if data.startswith((b"RSET", b"NOOP")) else [b"221 bye\r\n"]


async def test_answers_split_across_reads_or_joined_in_one_are_each_read_in_order() -> None:
    async with scripted(script) as settings, SmtpSession(settings) as smtp:
        for i in range(2):
            await smtp.send(mail(i))
        assert smtp.connections == 1


async def test_a_server_that_does_not_answer_the_group_is_a_transient_error_and_a_new_connection() -> None:
    silent = {"on": True}

    def answer(data: bytes) -> list[bytes]:
        if data.startswith(b"MAIL") and silent["on"]:
            return []
        return script(data)

    async with scripted(answer) as settings, SmtpSession(settings) as smtp:
        with pytest.raises(DeliveryError) as refused:
            await smtp.send(mail(1))
        assert not refused.value.permanent
        assert "SMTP unavailable" in str(refused.value)
        silent["on"] = False
        await smtp.send(mail(2))
        assert smtp.connections == 2


def test_the_services_event_loop_uvloop_pipelines_as_asyncio_does() -> None:
    # The services run on uvloop, whose transports are not asyncio.Transport subclasses: the pipelined send
    # must take the connection's input there as well (it refused every email as "Connection lost" at first).
    import threading

    import uvloop

    handler, port = Sink(pipelining=True), free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, decode_data=False)
    controller.start()
    outcome: list[object] = []

    async def send() -> None:
        async with SmtpSession(Settings(environment="development", smtp_port=port, smtp_timeout_seconds=2.0)) as smtp:
            for i in range(3):
                await smtp.send(mail(i))
            outcome.append(smtp.connections)

    try:
        thread = threading.Thread(target=lambda: uvloop.run(send()))  # a loop of its own, beside pytest's
        thread.start()
        thread.join(30)
    finally:
        controller.stop()
    assert outcome == [1]
    assert handler.grouped == [True] * 3
    assert len(handler.received) == 3
