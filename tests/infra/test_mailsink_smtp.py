"""The mail sink's SMTP side with its remembered address parsing and in-place envelope (docs/performance.md,
seventh round: the mail sink): envelopes stay exact over one kept-open connection, a malformed address is
refused every time it is given, and every stored email has its envelope and no temporary file left."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import smtplib
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from email.message import EmailMessage
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

MAILSINK = Path(__file__).resolve().parents[2] / "deploy" / "mailsink.py"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> object:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (http on loopback)
        return json.loads(response.read())


@pytest.fixture
def sink(tmp_path: Path) -> Iterator[tuple[int, int, Path]]:
    smtp_port, http_port, folder = _free_port(), _free_port(), tmp_path / "mail"
    log, dirs = tmp_path / "mailsink.log", ["--dir", str(folder)]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, str(MAILSINK), "--smtp-port", str(smtp_port), "--http-port", str(http_port), *dirs],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                _get(f"http://127.0.0.1:{http_port}/health")
                break
            except OSError:
                assert proc.poll() is None, log.read_text()
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
        yield smtp_port, http_port, folder
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _message(subject: str, to: str) -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "Backoffice <noreply@backoffice.local>", to, subject
    message.set_content("hello")
    return message


def test_envelopes_stay_exact_and_malformed_addresses_are_refused_each_time(sink: tuple[int, int, Path]) -> None:
    smtp_port, http_port, folder = sink
    sent = [
        ("<noreply@backoffice.local>", ["<a@example.com>"]),
        ("<noreply@backoffice.local>", ["<b@example.com>", "<a@example.com>"]),
        ("<other@backoffice.local>", ["<a@example.com>"]),
        ("<noreply@backoffice.local>", ["<a@example.com>"]),
    ]
    with smtplib.SMTP("127.0.0.1", smtp_port, timeout=5) as smtp:
        for i, (sender, recipients) in enumerate(sent):
            smtp.sendmail(sender, recipients, _message(f"m{i}", "a@example.com").as_bytes())
        for _ in range(2):  # the second time answered from what was remembered: refused alike
            code, _ = smtp.mail("<a@b@c>")
            assert code == 553
            smtp.rset()
            smtp.mail("<noreply@backoffice.local>")
            code, _ = smtp.rcpt("<no@>")
            assert code == 553
            smtp.rset()
    messages = _get(f"http://127.0.0.1:{http_port}/messages")
    assert isinstance(messages, list)
    assert [(m["subject"], m["mail_from"], m["rcpt_tos"]) for m in messages] == [
        (f"m{i}", sender.strip("<>"), [r.strip("<>") for r in recipients])
        for i, (sender, recipients) in enumerate(sent)
    ]
    assert [m["subject"] for m in _get(f"http://127.0.0.1:{http_port}/messages?to=b@example.com")] == ["m1"]  # type: ignore[union-attr]
    names = sorted(p.name for p in folder.iterdir())
    stems = sorted({n.rsplit(".", 1)[0] for n in names})
    assert len(stems) == len(sent)
    assert names == sorted([f"{s}.eml" for s in stems] + [f"{s}.json" for s in stems])  # no temporary file left
    for stem in stems:
        meta = json.loads((folder / f"{stem}.json").read_text())
        assert set(meta) == {"mail_from", "rcpt_tos", "received_at"}


def _load_mailsink() -> object:
    spec = importlib.util.spec_from_file_location("mailsink_under_test", MAILSINK)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_filtered_query_on_a_full_folder_parses_in_full_only_the_matches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A sink restarted on a folder of thousands of emails parsed every one in full (attachments included)
    # on its first GET /messages: 70 s for 6000, past `backoffice bench`'s 60-s client timeout. A filter
    # now compares the envelope and the headers first.
    sink: Any = _load_mailsink()
    folder = tmp_path / "mail"
    first = sink.Store(folder)
    for i in range(40):
        message = _message(f"Order {i}", "vendor@example.com" if i % 10 == 3 else f"other{i}@example.com")
        if i % 10 == 7:
            message["Cc"] = "Vendor <VENDOR@example.com>"  # matched by its Cc header, case aside
        message.add_attachment(b"%PDF-1.7 " * 2000, maintype="application", subtype="pdf", filename=f"{i}.pdf")
        first.save(message.as_bytes(), "noreply@backoffice.local", [f"other{i}@example.com"])
    described: list[str] = []
    full_parse = sink.describe
    monkeypatch.setattr(sink, "describe", lambda mid, raw, meta: described.append(mid) or full_parse(mid, raw, meta))

    store = sink.Store(folder)  # a restart: nothing parsed yet
    server = ThreadingHTTPServer(("127.0.0.1", 0), sink.make_http_handler(store))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        found = _get(f"{base}/messages?to=vendor@example.com")
        assert isinstance(found, list)
        assert [m["subject"] for m in found] == [
            "Order 3",
            "Order 7",
            "Order 13",
            "Order 17",
            "Order 23",
            "Order 27",
            "Order 33",
            "Order 37",
        ]
        assert len(described) == 8  # the 32 others were never parsed past their headers
        assert [m["subject"] for m in _get(f"{base}/messages?to=vendor@example.com&subject_contains=order%201")] == [  # type: ignore[union-attr]
            "Order 13",
            "Order 17",
        ]
        assert len(described) == 8  # answered from what was parsed
        everything = _get(f"{base}/messages")
        assert isinstance(everything, list)
        assert len(everything) == 40
        assert all(m["attachments"][0]["content_type"] == "application/pdf" for m in everything)
    finally:
        server.shutdown()
        server.server_close()


def _answers(sock: socket.socket, last: bytes) -> list[bytes]:
    """The answer lines read until one that begins with ``last`` (the last of a group)."""
    data = b""
    while not any(line.startswith(last) for line in data.split(b"\r\n")):
        chunk = sock.recv(65536)
        assert chunk, data
        data += chunk
    return [line for line in data.split(b"\r\n") if line]


def test_a_pipelined_group_is_answered_in_order_in_one_write(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # RFC 2920: MAIL, RCPT and DATA sent at once are answered in order; the sink writes the answers of such a
    # group at once (each answer was a write, a send system call, of its own).
    sink: Any = _load_mailsink()
    store = sink.Store(tmp_path / "mail")
    port = _free_port()
    controller = sink._Controller(sink.SmtpHandler(store), hostname="127.0.0.1", port=port, decode_data=False)
    writes: list[bytes] = []
    write = asyncio.StreamWriter.write
    monkeypatch.setattr(asyncio.StreamWriter, "write", lambda self, data: writes.append(data) or write(self, data))
    controller.start()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            assert _answers(sock, b"220")[0].startswith(b"220")
            sock.sendall(b"EHLO client.local\r\n")
            ehlo = _answers(sock, b"250 ")
            assert b"250-PIPELINING" in ehlo
            assert ehlo[-1] == b"250 HELP"
            writes.clear()
            sock.sendall(b"MAIL FROM:<noreply@backoffice.local>\r\nRCPT TO:<a@example.com>\r\nDATA\r\n")
            assert [a[:3] for a in _answers(sock, b"354")] == [b"250", b"250", b"354"]
            assert len(writes) == 1
            sock.sendall(b"Subject: one\r\n\r\nhello\r\n.\r\n")
            assert [a[:3] for a in _answers(sock, b"250")] == [b"250"]
            assert len(writes) == 2
            writes.clear()
            sock.sendall(b"MAIL FROM:<noreply@backoffice.local>\r\nRCPT TO:<no@>\r\nDATA\r\n")
            assert [a[:3] for a in _answers(sock, b"503")] == [b"250", b"553", b"503"]  # nobody to send to
            assert len(writes) == 1
            sock.sendall(b"RSET\r\nNOOP\r\nQUIT\r\n")
            assert [a[:3] for a in _answers(sock, b"221")] == [b"250", b"250", b"221"]
    finally:
        controller.stop()
    assert [(m["subject"], m["rcpt_tos"]) for m in (store.load(mid) for mid in store.ids())] == [
        ("one", ["a@example.com"])
    ]


def test_notifications_pipelined_emails_are_stored_as_sent(sink: tuple[int, int, Path]) -> None:
    from backoffice_notifications.mail.smtp import SmtpSession, build_mail
    from backoffice_notifications.settings import Settings

    smtp_port, http_port, _ = sink
    settings = Settings(environment="development", smtp_port=smtp_port)
    mails = [
        build_mail(
            settings=settings, delivery_id=f"d-{i}", recipient=f"v{i}@example.com", subject=f"Order {i}",
            text="Hello\n.dot\n", html="<p>Hello</p>", language="en",
        )
        for i in range(3)
    ]  # fmt: skip

    async def send() -> int:
        async with SmtpSession(settings) as smtp:
            for m in mails:
                await smtp.send(m)
            client = smtp._client
            assert client is not None
            assert client.supports_extension("pipelining")
            return smtp.connections

    assert asyncio.run(send()) == 1
    stored = _get(f"http://127.0.0.1:{http_port}/messages")
    assert isinstance(stored, list)
    assert [(m["subject"], m["rcpt_tos"], m["text"]) for m in stored] == [
        (f"Order {i}", [f"v{i}@example.com"], "Hello\n.dot\n") for i in range(3)
    ]


def test_a_restarted_sink_answers_a_query_from_its_index_parsing_only_the_matches_and_new_arrivals(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The index is rebuilt at start (the folder listed once, every email's headers summarised once); a query
    # ?to= then reads the matches only, and an email that arrives later is summarised once, by the next query.
    sink: Any = _load_mailsink()
    folder = tmp_path / "mail"
    first = sink.Store(folder)
    for i in range(30):
        to = "Vendor <Vendor@Example.com>" if i % 10 == 4 else f"other{i}@example.com"
        first.save(_message(f"Order {i}", to).as_bytes(), "noreply@backoffice.local", [f"rcpt{i}@example.com"])

    store = sink.Store(folder)  # a restart
    store.rebuild()
    assert store.ids() == first.ids()
    listed, summarised, described = [], [], []
    glob, summary, full_parse = Path.glob, store.summary, sink.describe
    monkeypatch.setattr(Path, "glob", lambda self, pattern: listed.append(pattern) or glob(self, pattern))
    monkeypatch.setattr(store, "summary", lambda mid: summarised.append(mid) or summary(mid))
    monkeypatch.setattr(sink, "describe", lambda mid, raw, meta: described.append(mid) or full_parse(mid, raw, meta))
    server = ThreadingHTTPServer(("127.0.0.1", 0), sink.make_http_handler(store))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        found = _get(f"{base}/messages?to=vendor@example.com")
        assert [m["subject"] for m in found] == ["Order 4", "Order 14", "Order 24"]  # type: ignore[union-attr]
        assert [m["subject"] for m in _get(f"{base}/messages?to=rcpt14@example.com")] == ["Order 14"]  # type: ignore[union-attr]
        assert (listed, summarised, len(described)) == ([], [], 3)  # no listing, no summary: the index
        assert _get(f"{base}/messages?to=nobody@example.com") == []
        assert [m["subject"] for m in _get(f"{base}/messages?to=VENDOR@example.com&limit=2")] == [
            "Order 14",
            "Order 24",
        ]  # type: ignore[union-attr]

        late = store.save(
            _message("Order 30", "vendor@example.com").as_bytes(), "noreply@backoffice.local", ["x@example.com"]
        )
        assert [m["subject"] for m in _get(f"{base}/messages?to=vendor@example.com")] == [
            "Order 4",
            "Order 14",
            "Order 24",
            "Order 30",
        ]  # type: ignore[union-attr]
        assert summarised == [late]
        assert _get(f"{base}/messages?to=x@example.com&subject_contains=order%2031") == []
        assert [m["subject"] for m in _get(f"{base}/messages?to=x@example.com&subject_contains=ORDER%2030")] == [
            "Order 30"
        ]  # type: ignore[union-attr]

        with urllib.request.urlopen(urllib.request.Request(f"{base}/messages/{found[1]['id']}", method="DELETE")) as r:  # type: ignore[index]  # noqa: S310
            assert json.loads(r.read()) == {"deleted": 1}
        assert [m["subject"] for m in _get(f"{base}/messages?to=vendor@example.com")] == [
            "Order 4",
            "Order 24",
            "Order 30",
        ]  # type: ignore[union-attr]
        assert _get(f"{base}/health") == {"ok": True, "count": 30}
        assert listed == []
    finally:
        server.shutdown()
        server.server_close()
