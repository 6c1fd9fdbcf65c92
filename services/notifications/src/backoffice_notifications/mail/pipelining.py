"""One SMTP mail transaction pipelined (RFC 2920) on a connection aiosmtplib opened and greeted.

aiosmtplib (5.x) sends ``MAIL``, each ``RCPT``, ``DATA`` and the message each in a round trip of its own, and
its protocol cannot read the answers of several commands sent at once: it parses one answer per read and drops
what arrives while that one is not taken yet. Where the server advertises ``PIPELINING``, ``send_pipelined``
sends ``MAIL``, the ``RCPT``s and ``DATA`` in one write and reads their answers in order, then the message
(RFC 2920 3.1: the content only after ``354``): two round trips an email. While the answers of a write are
awaited, the connection's input goes to ``_Replies`` (``transport.set_protocol``), which keeps every whole
answer in order and passes the connection's other news (lost, end of input, flow control) on to aiosmtplib's
protocol; it gets the input back after the answers.

Its outcome is ``sendmail``'s, raised as the same errors, so the caller classifies them as before: the sender
refused (``SMTPSenderRefused``), every recipient refused (``SMTPRecipientsRefused``), ``DATA`` or the message
refused (``SMTPDataError``), each followed by ``RSET`` as ``sendmail`` does; some recipients refused is the
returned dict of refusals; no answer in time or the connection lost closes the connection
(``SMTPReadTimeoutError``, ``SMTPServerDisconnected``).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Sequence
from typing import cast

import aiosmtplib
from aiosmtplib import (
    SMTPDataError,
    SMTPReadTimeoutError,
    SMTPRecipientRefused,
    SMTPRecipientsRefused,
    SMTPResponse,
    SMTPResponseException,
    SMTPSenderRefused,
    SMTPServerDisconnected,
)
from aiosmtplib.email import quote_address
from aiosmtplib.protocol import (
    COMMAND_INJECTION_REGEX,
    MAX_LINE_LENGTH,
    MAX_RESPONSE_LENGTH,
    PERIOD_REGEX,
    SMTPProtocol,
    normalize_message_line_endings,
)

_COMPLETED, _WILL_FORWARD, _START_INPUT, _UNAVAILABLE = 250, 251, 354, 421


def supports_pipelining(client: aiosmtplib.SMTP) -> bool:
    return client.supports_extension("pipelining")


@functools.lru_cache(maxsize=1024)
def _quoted(address: str) -> bytes:
    """``<address>`` as aiosmtplib's ``mail`` and ``rcpt`` write it (its address parsing, once per address)."""
    return quote_address(address).encode("ascii")


class _Replies(asyncio.Protocol):
    """The connection's input while the answers of one write are awaited: every whole answer, in order."""

    def __init__(self, smtp: SMTPProtocol, expected: int) -> None:
        self._smtp = smtp
        self._expected = expected
        self._buffer = bytearray()
        self._lines: list[bytes] = []
        self.replies: list[SMTPResponse] = []
        self.done: asyncio.Future[list[SMTPResponse]] = asyncio.get_running_loop().create_future()

    def data_received(self, data: bytes) -> None:
        if self.done.done():
            return
        self._buffer.extend(data)
        if len(self._buffer) > MAX_RESPONSE_LENGTH:
            self._fail(SMTPResponseException(-1, "Response too long"))
            return
        try:
            while len(self.replies) < self._expected:
                end = self._buffer.find(b"\n")
                if end == -1:
                    return
                line = bytes(self._buffer[: end + 1])
                del self._buffer[: end + 1]
                if len(line) > MAX_LINE_LENGTH:
                    raise SMTPResponseException(-1, "Response too long")
                try:
                    code = int(line[:3])
                except ValueError:
                    raise SMTPResponseException(
                        -1, f"Malformed SMTP response line: {line.decode('utf-8', errors='ignore')}"
                    ) from None
                self._lines.append(line[4:].strip(b" \t\r\n"))
                if line[3:4] != b"-":
                    message = b"\n".join(self._lines).decode("utf-8", "surrogateescape")
                    self._lines = []
                    self.replies.append(SMTPResponse(code, message))
        except SMTPResponseException as exc:
            self._fail(exc)
            return
        self.done.set_result(self.replies)

    def _fail(self, exc: Exception) -> None:
        if not self.done.done():
            self.done.set_exception(exc)

    def eof_received(self) -> bool | None:
        self._fail(SMTPServerDisconnected("Unexpected EOF received"))
        return self._smtp.eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        lost = SMTPServerDisconnected("Connection lost")
        lost.__cause__ = exc
        self._fail(lost)
        self._smtp.connection_lost(exc)

    def pause_writing(self) -> None:
        self._smtp.pause_writing()

    def resume_writing(self) -> None:
        self._smtp.resume_writing()


async def _exchange(client: aiosmtplib.SMTP, data: bytes, expected: int, timeout: float | None) -> list[SMTPResponse]:
    """Writes ``data`` and reads ``expected`` answers; no answers in time or a lost connection closes it."""
    protocol = client.protocol
    # A transport of asyncio or of uvloop (whose classes are not asyncio.Transport's subclasses)
    transport = cast(asyncio.Transport | None, protocol.transport if protocol is not None else None)
    if protocol is None or transport is None or transport.is_closing():
        raise SMTPServerDisconnected("Connection lost")
    replies = _Replies(protocol, expected)
    transport.set_protocol(replies)
    try:
        transport.write(data)
        return await asyncio.wait_for(replies.done, timeout)
    except TimeoutError as exc:  # an answer still to come would be read as the next command's: not reused
        client.close()
        raise SMTPReadTimeoutError("Timed out waiting for server response") from exc
    except (SMTPServerDisconnected, SMTPResponseException):  # lost, or an answer that is not SMTP: as aiosmtplib
        client.close()
        raise
    finally:
        if transport.get_protocol() is replies:
            transport.set_protocol(protocol)


async def send_pipelined(
    client: aiosmtplib.SMTP,
    sender: str,
    recipients: Sequence[str],
    message: bytes,
    *,
    mail_options: Sequence[str] = (),
) -> tuple[dict[str, SMTPResponse], str]:
    """``client.sendmail(sender, recipients, message, mail_options=...)`` in two round trips (the server
    advertised ``PIPELINING``; the client has greeted it). Returns and raises as ``sendmail``."""
    content = normalize_message_line_endings(message)
    options = [*((f"size={len(content)}",) if client.supports_extension("size") else ()), *mail_options]
    mail = b" ".join([b"MAIL", b"FROM:" + _quoted(sender), *(option.encode("ascii") for option in options)])
    rcpts = [b"RCPT TO:" + _quoted(recipient) for recipient in recipients]
    for command in (mail, *rcpts):
        if COMMAND_INJECTION_REGEX.search(command):
            raise ValueError("Command arg contains a prohibited control character")
    timeout = client.timeout
    replies = await _exchange(client, b"\r\n".join([mail, *rcpts, b"DATA"]) + b"\r\n", len(rcpts) + 2, timeout)
    mail_reply, data_reply = replies[0], replies[-1]
    refused = [
        SMTPRecipientRefused(reply.code, reply.message, recipient)
        for recipient, reply in zip(recipients, replies[1:-1], strict=True)
        if reply.code not in (_COMPLETED, _WILL_FORWARD)
    ]
    failure: Exception | None = None
    if mail_reply.code != _COMPLETED:
        failure = SMTPSenderRefused(mail_reply.code, mail_reply.message, sender)
    elif len(refused) == len(recipients):
        failure = SMTPRecipientsRefused(refused)
    elif data_reply.code != _START_INPUT:
        failure = SMTPDataError(data_reply.code, data_reply.message)
    if any(reply.code == _UNAVAILABLE for reply in replies):  # as aiosmtplib does on a 421: the server is leaving
        client.close()
    elif data_reply.code == _START_INPUT and failure is None:
        (done,) = await _exchange(client, PERIOD_REGEX.sub(b"..", content) + b".\r\n", 1, timeout)
        if done.code == _COMPLETED:
            return {e.recipient: SMTPResponse(e.code, e.message) for e in refused}, done.message
        failure = SMTPDataError(done.code, done.message)
        if done.code == _UNAVAILABLE:
            client.close()
    elif data_reply.code == _START_INPUT:  # RFC 2920 3.1: DATA accepted with nobody to send to: an empty message
        await _exchange(client, b".\r\n", 1, timeout)
    assert failure is not None
    with contextlib.suppress(ConnectionError, SMTPResponseException):  # as sendmail: reset the envelope
        await client.rset()
    raise failure
