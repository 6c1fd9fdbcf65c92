"""The mail sink's CPU per email, old against new, side by side (not a test).

Two mail sinks in processes of their own: "old" is ``deploy/mailsink.py`` of ``--old-ref`` (taken with
``git show``, default ``HEAD``), "new" the working tree's. Each gets the same emails as notifications
sends them: its ``build_mail`` bytes (multipart text + HTML, base64), by its ``SmtpSession`` over one
connection kept open (pipelined where the sink advertises PIPELINING; ``--sendmail``: aiosmtplib's
``sendmail`` to both), ``--batch`` emails in a round; the client's CPU (this process) is reported per sink
too. First both must store the same bytes and answer the mailbox
API alike (the JSON of ``GET /messages`` but the ids and arrival times); then ``--rounds`` rounds
alternate old and new, and the CPU of each sink (utime + stime of its process from ``/proc``) is
divided by the emails it took, with the load average.

    .venv/bin/python services/common/bench/mailsink_cpu.py --rounds 6 --batch 300
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiosmtplib

from backoffice_notifications.mail.smtp import SmtpSession, build_mail
from backoffice_notifications.settings import Settings

ROOT = Path(__file__).resolve().parents[3]
TICK = os.sysconf("SC_CLK_TCK")
PLAIN = False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_ticks(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return int(fields[11]) + int(fields[12])


def get(url: str, method: str = "GET") -> Any:
    request = urllib.request.Request(url, method=method)  # noqa: S310 (http on loopback)
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return json.loads(response.read())


class Sink:
    def __init__(self, name: str, script: Path, workdir: Path) -> None:
        self.name = name
        self.smtp_port, self.http_port = free_port(), free_port()
        self.dir = workdir / f"mail-{name}"
        self.log = (workdir / f"{name}.log").open("wb")
        self.proc = subprocess.Popen(
            [
                *(sys.executable, str(script), "--smtp-port", str(self.smtp_port)),
                *("--http-port", str(self.http_port), "--dir", str(self.dir)),
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                get(self.url("/health"))
                break
            except OSError:
                assert self.proc.poll() is None, f"{name} exited"
                assert time.monotonic() < deadline, f"{name} did not start"
                time.sleep(0.1)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.http_port}{path}"

    def stop(self) -> None:
        self.proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(10)
        self.log.close()


MAIL_FROM = SimpleNamespace(mail_from="Backoffice <noreply@backoffice.local>")
TEXT = (
    "Hello Vendor 17,\n\nPurchase request PR-2026-000123 (Office chairs, 12 x 249.00 EUR) was approved.\n"
    "The purchase order and the contract follow in separate emails.\n\nKind regards,\nBackoffice\n"
)
HTML = "<html><body>" + "".join(f"<p>{line}</p>" for line in TEXT.splitlines() if line) + "</body></html>"


def mails(n: int, tag: str) -> list[Any]:
    return [
        build_mail(
            settings=MAIL_FROM,  # type: ignore[arg-type]
            delivery_id=f"{tag}-{i:06d}",
            recipient=f"Vendor {i % 7} <vendor{i % 7}@example.com>",
            subject=f"Purchase request PR-{i:06d} approved",
            text=TEXT,
            html=HTML,
            language="en",
            boundary="===============0000000000000000000==",
            date="Mon, 30 Nov 2026 17:00:00 -0000",
        )
        for i in range(n)
    ]


async def send(sink: Sink, batch: list[Any]) -> None:
    """Over one connection kept open, as notifications sends: ``SmtpSession`` (MAIL, RCPT and DATA pipelined
    where the sink advertises PIPELINING; aiosmtplib's ``sendmail`` where it does not), or with ``--sendmail``
    aiosmtplib's ``sendmail`` alone."""
    if PLAIN:
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=sink.smtp_port, timeout=30, start_tls=False)
        await client.connect()
        for mail in batch:
            await client.sendmail(mail.sender, mail.recipients, mail.content)
        await client.quit()
        return
    settings = Settings(environment="development", smtp_port=sink.smtp_port, smtp_timeout_seconds=30)
    async with SmtpSession(settings) as smtp:
        for mail in batch:
            await smtp.send(mail)


def stored(sink: Sink) -> list[bytes]:
    return [p.read_bytes() for p in sorted(sink.dir.glob("*.eml"))]


def listed(sink: Sink, query: str = "") -> list[dict[str, Any]]:
    return [{k: v for k, v in m.items() if k not in ("id", "received_at")} for m in get(sink.url(f"/messages{query}"))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--old-ref", default="HEAD")
    ap.add_argument("--old-file", type=Path, help="the old sink from this file instead of --old-ref")
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--batch", type=int, default=300)
    ap.add_argument("--sendmail", action="store_true", help="send with aiosmtplib's sendmail, not SmtpSession")
    args = ap.parse_args()
    global PLAIN
    PLAIN = args.sendmail
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        old_script = work / "mailsink_old.py"
        if args.old_file:
            old_script.write_bytes(args.old_file.read_bytes())
        else:
            old_script.write_bytes(
                subprocess.check_output(["git", "-C", str(ROOT), "show", f"{args.old_ref}:deploy/mailsink.py"])
            )
        sinks = [Sink("old", old_script, work), Sink("new", ROOT / "deploy" / "mailsink.py", work)]
        try:
            check = mails(20, "check")
            for sink in sinks:
                asyncio.run(send(sink, check))
            assert stored(sinks[0]) == stored(sinks[1]), "the sinks stored different bytes"
            for query in ("", "?to=vendor3@example.com", "?subject_contains=PR-000004", "?limit=3"):
                assert listed(sinks[0], query) == listed(sinks[1], query), f"GET /messages{query} differs"
            print(f"same stored bytes and API answers ({len(stored(sinks[0]))} emails); load {os.getloadavg()}")
            spent: dict[str, list[float]] = {"old": [], "new": []}
            client: dict[str, list[float]] = {"old": [], "new": []}
            for r in range(args.rounds):
                order = sinks if r % 2 == 0 else sinks[::-1]
                for sink in order:
                    batch = mails(args.batch, f"r{r}")
                    before, mine = cpu_ticks(sink.proc.pid), time.process_time()
                    asyncio.run(send(sink, batch))
                    client[sink.name].append((time.process_time() - mine) * 1000 / args.batch)
                    time.sleep(0.3)  # the last email's file writes
                    spent[sink.name].append((cpu_ticks(sink.proc.pid) - before) * 1000 / TICK / args.batch)
                print(
                    f"round {r}: sink old {spent['old'][-1]:.3f}, new {spent['new'][-1]:.3f} ms/email;"
                    f" client to old {client['old'][-1]:.3f}, to new {client['new'][-1]:.3f} ms/email;"
                    f" load {os.getloadavg()[0]:.1f}"
                )
            for name in ("old", "new"):
                values, mine = sorted(spent[name]), sorted(client[name])
                print(
                    f"{name}: sink median {values[len(values) // 2]:.3f} ms/email"
                    f" (range {values[0]:.3f}-{values[-1]:.3f});"
                    f" client median {mine[len(mine) // 2]:.3f} ms/email (range {mine[0]:.3f}-{mine[-1]:.3f})"
                )
        finally:
            for sink in sinks:
                sink.stop()


if __name__ == "__main__":
    main()
