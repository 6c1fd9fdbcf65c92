"""Local SMTP sink for development and tests (used by deploy/infra.sh).

* SMTP (aiosmtpd, no AUTH, no TLS) on 127.0.0.1:$BACKOFFICE_SMTP_PORT; every message is stored
  as <maildir>/<id>.eml (raw bytes as received) plus <id>.json (envelope: mail_from, rcpt_tos,
  received_at). <id> = <arrival time in ns, 20 digits>-<seq>, so names sort by arrival.
* HTTP JSON API on 127.0.0.1:$BACKOFFICE_MAILBOX_PORT:
    GET    /health                     -> {"ok": true, "count": N}
    GET    /messages[?to=a@b&subject_contains=x&limit=N]   (``to`` from an index kept in memory: O(matches))
                                       -> [{id, received_at, mail_from, rcpt_tos, subject, to, cc,
                                            from, headers, text, html, attachments}], oldest first
         `to` matches (case-insensitively) an envelope recipient or an address in To/Cc;
         `subject_contains` is a case-insensitive substring match.
    GET    /messages/<id>              -> one message (same JSON)
    GET    /messages/<id>.eml          -> raw message (message/rfc822)
    DELETE /messages                   -> deletes all, {"deleted": N}
    DELETE /messages/<id>              -> deletes one
"""

from __future__ import annotations

import argparse
import bisect
import email
import email.parser
import email.policy
import email.utils
import itertools
import json
import logging
import os
import re
import signal
import threading
import time
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import NamedTuple
from urllib.parse import parse_qs, unquote, urlsplit

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP

log = logging.getLogger("mailsink")
ID_RE = re.compile(r"^[0-9]{20}-[0-9]+$")


class Store:
    """The folder, with an index kept in memory: the ids in arrival order (the folder is listed once, at start;
    ``save`` and ``delete`` keep the list), and per address (the envelope's recipients, To and Cc, lower case)
    the ids that name it. An email is summarised (its envelope and headers only) once, by the first query after
    it arrived or by ``rebuild`` after a start, so a query ``?to=`` costs the emails that match, not the folder
    (a ``glob`` and a summary per email before: 7.5 s for the first query on 9231 emails, then O(emails))."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.dir.mkdir(parents=True, exist_ok=True)
        self._seq = itertools.count(1)
        self._lock = threading.Lock()  # the ids; held briefly (the SMTP thread saves under it)
        self._index_lock = threading.Lock()  # the summaries and the address index; held while summarising
        self._ids = sorted(p.stem for p in self.dir.glob("*.eml") if ID_RE.match(p.stem))
        self._unsummarised = list(self._ids)
        self._parsed: dict[str, dict] = {}  # messages never change: parse each one once
        self._summaries: dict[str, Summary] = {}  # what a filter compares, from the headers alone
        self._by_address: dict[str, list[str]] = {}

    def save(self, raw: bytes, mail_from: str, rcpt_tos: list[str]) -> str:
        with self._lock:
            mid = f"{time.time_ns():020d}-{next(self._seq)}"
        received_at = datetime.now(UTC).isoformat()
        meta = {"mail_from": mail_from, "rcpt_tos": list(rcpt_tos), "received_at": received_at}
        base = os.path.join(self.dir, mid)
        # The envelope first, written in place: nothing reads it before the .eml exists. The .eml last,
        # through a temporary name: its presence means the message is complete.
        with open(f"{base}.json", "wb") as f:
            f.write(json.dumps(meta).encode())
        tmp = os.path.join(self.dir, f".{mid}.eml.tmp")
        with open(tmp, "wb") as f:
            f.write(raw)
        os.replace(tmp, f"{base}.eml")
        with self._lock:
            _insert(self._ids, mid)
            self._unsummarised.append(mid)
        return mid

    def ids(self) -> list[str]:
        with self._lock:
            return list(self._ids)

    def count(self) -> int:
        return len(self._ids)

    def rebuild(self) -> None:
        """Summarises what is not yet (after a start: the whole folder, headers only), as a query would first."""
        with self._index_lock:
            self._catch_up()

    def _catch_up(self) -> None:  # under _index_lock
        with self._lock:
            fresh, self._unsummarised = self._unsummarised, []
        for mid in fresh:
            found = self.summary(mid)
            if found is not None:
                for address in found.addresses:
                    _insert(self._by_address.setdefault(address, []), mid)

    def matching(self, to: str | None, subject_contains: str | None) -> list[str]:
        """The ids of the emails that match, in arrival order: with ``to``, from the address index."""
        with self._index_lock:
            self._catch_up()
            addressed = to.strip().lower() if to else ""
            candidates = list(self._by_address.get(addressed, ())) if addressed else self.ids()
            return [mid for mid in candidates if (s := self._summaries.get(mid)) and s.matches(to, subject_contains)]

    def raw(self, mid: str) -> bytes | None:
        if not ID_RE.match(mid):
            return None
        try:
            return (self.dir / f"{mid}.eml").read_bytes()
        except FileNotFoundError:
            return None

    def summary(self, mid: str) -> Summary | None:
        """The addresses and subject a filtered ``GET /messages`` compares, from the envelope and the
        headers only (no body, no attachments): a sink started on a folder of thousands of emails answers
        its first filtered query in seconds, parsing in full only the emails that match (it parsed every
        one in full before: 70 s for 6000, longer than a client's timeout)."""
        cached = self._summaries.get(mid)
        if cached is not None:
            return cached
        parsed = self._parsed.get(mid)
        if parsed is not None:
            found = Summary.of(parsed["rcpt_tos"], parsed["to"], parsed["cc"], parsed["subject"])
        else:
            raw = self.raw(mid)
            if raw is None:
                return None
            headers = email.parser.BytesParser(policy=email.policy.default).parsebytes(raw, headersonly=True)
            found = Summary.of(
                _envelope(self.dir, mid).get("rcpt_tos", []),
                _header(headers, "to"),
                _header(headers, "cc"),
                _header(headers, "subject"),
            )
        self._summaries[mid] = found
        return found

    def load(self, mid: str) -> dict | None:
        cached = self._parsed.get(mid)
        if cached is not None:
            return cached
        raw = self.raw(mid)
        if raw is None:
            return None
        described = describe(mid, raw, _envelope(self.dir, mid))
        self._parsed[mid] = described
        return described

    def delete(self, mid: str | None = None) -> int:
        n = 0
        with self._index_lock:
            for mid_ in [mid] if mid else self.ids():
                if not ID_RE.match(mid_):
                    continue
                self._parsed.pop(mid_, None)
                found = self._summaries.pop(mid_, None)
                for address in found.addresses if found else ():
                    _remove(self._by_address.get(address, []), mid_)
                with self._lock:
                    _remove(self._ids, mid_)  # one still unsummarised is skipped when summarised: no file
                for suffix in (".eml", ".json"):
                    try:
                        (self.dir / f"{mid_}{suffix}").unlink()
                        n += suffix == ".eml"
                    except FileNotFoundError:
                        pass
        return n


def _insert(ids: list[str], mid: str) -> None:
    """``mid`` into the sorted ``ids``: at the end as a rule (ids grow with the arrival time)."""
    if not ids or ids[-1] < mid:
        ids.append(mid)
    else:
        bisect.insort(ids, mid)


def _remove(ids: list[str], mid: str) -> None:
    i = bisect.bisect_left(ids, mid)
    if i < len(ids) and ids[i] == mid:
        del ids[i]


def _envelope(directory: Path, mid: str) -> dict:
    try:
        return json.loads((directory / f"{mid}.json").read_text())
    except (FileNotFoundError, ValueError):
        return {"mail_from": None, "rcpt_tos": [], "received_at": None}


def _header(msg, name: str) -> str | None:
    return str(msg[name]) if msg[name] is not None else None


class Summary(NamedTuple):
    addresses: frozenset[str]  # the envelope's recipients and the To and Cc headers' addresses, lower case
    subject: str | None

    @classmethod
    def of(cls, rcpt_tos: list[str], to: str | None, cc: str | None, subject: str | None) -> Summary:
        addresses = {a.lower() for a in rcpt_tos}
        for field in (to, cc):
            if field:
                addresses.update(a.lower() for _, a in email.utils.getaddresses([field]))
        return cls(frozenset(addresses), subject)

    def matches(self, to: str | None, subject_contains: str | None) -> bool:
        if to and to.strip().lower() not in self.addresses:
            return False
        return not (subject_contains and subject_contains.lower() not in (self.subject or "").lower())


def _text(part) -> str:
    try:
        return part.get_content()
    except Exception:  # unknown charset etc.
        payload = part.get_payload(decode=True) or b""
        return payload.decode("utf-8", "replace")


def describe(mid: str, raw: bytes, meta: dict) -> dict:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    headers: dict[str, str] = {}
    for name, value in msg.items():
        value = str(value)
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    text = html = None
    if msg.is_multipart() or msg.get_content_maintype() == "text":
        body = msg.get_body(preferencelist=("plain",))
        if body is not None:
            text = _text(body)
        body = msg.get_body(preferencelist=("html",))
        if body is not None:
            html = _text(body)
    attachments = []
    for part in msg.iter_attachments() if msg.is_multipart() else ():
        payload = part.get_payload(decode=True)
        attachments.append(
            {
                "filename": part.get_filename(),
                "content_type": part.get_content_type(),
                "size": len(payload) if payload is not None else len(part.as_bytes()),
            }
        )
    return {
        "id": mid,
        "received_at": meta.get("received_at"),
        "mail_from": meta.get("mail_from"),
        "rcpt_tos": meta.get("rcpt_tos", []),
        "subject": str(msg["subject"]) if msg["subject"] is not None else None,
        "from": str(msg["from"]) if msg["from"] is not None else None,
        "to": str(msg["to"]) if msg["to"] is not None else None,
        "cc": str(msg["cc"]) if msg["cc"] is not None else None,
        "headers": headers,
        "text": text,
        "html": html,
        "attachments": attachments,
    }


class SmtpHandler:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        """EHLO's extensions with PIPELINING (RFC 2920): a client may send MAIL, its RCPTs and DATA at once, and
        the server answers them in order (``_Smtp.push`` sends the answers of such a group in one write)."""
        session.host_name = hostname
        return [*responses[:-1], "250-PIPELINING", responses[-1]]

    async def handle_DATA(self, server, session, envelope):
        mid = self.store.save(envelope.original_content or envelope.content, envelope.mail_from, envelope.rcpt_tos)
        log.debug("stored %s from=%s to=%s", mid, envelope.mail_from, envelope.rcpt_tos)
        return "250 Message accepted for delivery"


class _Smtp(SMTP):
    """aiosmtpd's server with its MAIL/RCPT address parsing remembered per argument: ``_getaddr`` is a pure
    function of the argument (and the local-part limit), and it runs the ``email`` header parser and
    declares a class on every call (about 15 % of the sink's CPU per email); a flow's emails repeat a
    handful of addresses.

    And the answers of a pipelined group in one write: an answer is held while a whole command line is
    already waiting in the input (the next command of the group), and written with the ones held before it
    as soon as the input holds no whole line, as RFC 2920 (3.2) asks of a server: never hold an answer while
    waiting for input. Each answer was a write (a send system call) of its own, half the sink's CPU."""

    _addresses: dict[tuple[str, int], tuple[str | None, str | None]] = {}
    _held: list[bytes] | None = None

    async def push(self, status: str | bytes) -> None:
        response = status.encode("utf-8" if self.enable_SMTPUTF8 else "ascii") if isinstance(status, str) else status
        waiting = getattr(self._reader, "_buffer", b"")  # asyncio.StreamReader's input not read yet
        if b"\n" in waiting:
            if self._held is None:
                self._held = []
            self._held.append(response + b"\r\n")
            return
        if self._held:
            held, self._held = self._held, None
            self._writer.write(b"".join(held) + response + b"\r\n")
        else:
            self._writer.write(response + b"\r\n")
        await self._writer.drain()

    def _getaddr(self, arg: str) -> tuple[str | None, str | None]:
        key = (arg, self.local_part_limit)
        found = self._addresses.get(key)
        if found is None:
            found = super()._getaddr(arg)
            if len(self._addresses) < 4096:
                self._addresses[key] = found
        return found


class _Controller(Controller):
    def factory(self) -> SMTP:
        return _Smtp(self.handler, **self.SMTP_kwargs)


def make_http_handler(store: Store):
    class Handler(BaseHTTPRequestHandler):
        server_version = "mailsink/1"

        def log_message(self, fmt, *args):  # to our log, not stderr
            log.debug("http %s " + fmt, self.client_address[0], *args)

        def _send(self, status: int, body: bytes, ctype: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _json(self, obj, status: int = 200) -> None:
            self._send(status, json.dumps(obj, ensure_ascii=False).encode())

        def do_GET(self):
            url = urlsplit(self.path)
            path = unquote(url.path).rstrip("/")
            q = {k: v[-1] for k, v in parse_qs(url.query).items()}
            if path in ("", "/health"):
                return self._json({"ok": True, "count": store.count()})
            if path == "/messages":
                mids = store.matching(q.get("to"), q.get("subject_contains"))
                if q.get("limit", "").isdigit():  # the last N matches, the others not parsed
                    mids = mids[-int(q["limit"]) :] if int(q["limit"]) else []
                return self._json([m for m in map(store.load, mids) if m])
            if path.startswith("/messages/"):
                mid = path[len("/messages/") :]
                if mid.endswith(".eml"):
                    raw = store.raw(mid[:-4])
                    if raw is not None:
                        return self._send(200, raw, "message/rfc822")
                else:
                    m = store.load(mid)
                    if m is not None:
                        return self._json(m)
                return self._json({"error": "not found"}, HTTPStatus.NOT_FOUND)
            return self._json({"error": "not found"}, HTTPStatus.NOT_FOUND)

        do_HEAD = do_GET

        def do_DELETE(self):
            path = unquote(urlsplit(self.path).path).rstrip("/")
            if path == "/messages":
                return self._json({"deleted": store.delete()})
            if path.startswith("/messages/"):
                n = store.delete(path[len("/messages/") :].removesuffix(".eml"))
                return self._json({"deleted": n}, 200 if n else HTTPStatus.NOT_FOUND)
            return self._json({"error": "not found"}, HTTPStatus.NOT_FOUND)

    return Handler


class _Stopped(Exception):
    """Raised by the SIGTERM/SIGINT handler out of the HTTP loop's wait."""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--smtp-port", type=int, default=int(os.environ.get("BACKOFFICE_SMTP_PORT", "2525")))
    ap.add_argument("--http-port", type=int, default=int(os.environ.get("BACKOFFICE_MAILBOX_PORT", "2526")))
    ap.add_argument("--dir", default=os.path.join(os.environ.get("BACKOFFICE_STATE_DIR", "."), "mail"))
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    if not args.verbose:  # aiosmtpd logs every SMTP command (and every port probe) at INFO
        logging.getLogger("mail.log").setLevel(logging.WARNING)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit("mailsink only binds to loopback")

    store = Store(Path(args.dir))
    httpd = ThreadingHTTPServer((args.host, args.http_port), make_http_handler(store))
    httpd.daemon_threads = True
    smtp = _Controller(
        SmtpHandler(store),
        hostname=args.host,
        port=args.smtp_port,
        enable_SMTPUTF8=True,
        decode_data=False,
        ready_timeout=10,
        server_hostname="mailsink.local",
    )
    smtp.start()
    # The index of what the folder held at start, built beside the SMTP and HTTP loops (a query waits for it).
    threading.Thread(target=store.rebuild, name="mailsink-index", daemon=True).start()

    # The HTTP loop waits for requests without a timeout to look at a stop flag (serve_forever's poll
    # every 0.2 s was five wake-ups a second, idle: docs/performance.md, sixth round): a signal ends it by
    # raising out of the wait instead (its handler runs in this, the main, thread).
    def _stop(signum, frame):
        log.info("signal %s, shutting down", signum)
        raise _Stopped

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    log.info(
        "SMTP on %s:%d, HTTP API on %s:%d, storing in %s",
        args.host,
        args.smtp_port,
        args.host,
        args.http_port,
        store.dir,
    )
    try:
        httpd.serve_forever(poll_interval=3600)
    except _Stopped:
        pass
    finally:
        smtp.stop()
        httpd.server_close()
        log.info("stopped")


if __name__ == "__main__":
    main()
