"""The mail sink sleeps while idle and still stops at once on SIGTERM (docs/performance.md, sixth round: idle)."""

from __future__ import annotations

import json
import signal
import smtplib
import socket
import subprocess
import sys
import time
import urllib.request
from email.message import EmailMessage
from pathlib import Path

MAILSINK = Path(__file__).resolve().parents[2] / "deploy" / "mailsink.py"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _switches(pid: int) -> int:
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        for line in (task / "status").read_text().splitlines():
            if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                total += int(line.split()[1])
    return total


def _get(url: str) -> object:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (http on loopback)
        return json.loads(response.read())


def test_the_idle_mail_sink_does_not_poll_and_stops_at_once_on_sigterm(tmp_path: Path) -> None:
    smtp_port, http_port = _free_port(), _free_port()
    log = tmp_path / "mailsink.log"
    with log.open("wb") as out:
        command = [sys.executable, str(MAILSINK), "--smtp-port", str(smtp_port), "--http-port", str(http_port)]
        proc = subprocess.Popen(
            [*command, "--dir", str(tmp_path / "mail")],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                assert _get(f"http://127.0.0.1:{http_port}/health") == {"ok": True, "count": 0}
                break
            except OSError:
                assert proc.poll() is None, log.read_text()
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = "a@example.com", "b@example.com", "idle"
        message.set_content("hello")
        with smtplib.SMTP("127.0.0.1", smtp_port, timeout=5) as smtp:
            smtp.send_message(message)
        messages = _get(f"http://127.0.0.1:{http_port}/messages")
        assert isinstance(messages, list)
        assert [m["subject"] for m in messages] == ["idle"]

        time.sleep(0.5)
        before = _switches(proc.pid)
        time.sleep(3.0)
        woken = _switches(proc.pid) - before
        # serve_forever's 0.2-s poll alone woke it 15 times in this time
        assert woken <= 4, woken

        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=5) == 0, log.read_text()
        assert time.monotonic() - started < 2.0
        assert "stopped" in log.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
