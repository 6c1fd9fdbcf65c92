"""`backoffice load`: it retries what a client should, keeps every flow going when one fails, and says
what completed, what failed and why."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from platform_kit import JWT_SECRET, Platform, free_port

from backoffice_cli.client import Cast, Endpoints, FlowError, Vendor
from backoffice_cli.client import Platform as Client
from backoffice_cli.flow import FlowResult, walk
from backoffice_cli.load import run_load


class BrieflyUnavailable(BaseHTTPRequestHandler):
    """Answers 503 with Retry-After: 1 to the first two requests, as a service whose database restarts."""

    answered = 0

    def do_GET(self) -> None:
        BrieflyUnavailable.answered += 1
        if BrieflyUnavailable.answered <= 2:
            body = b'{"status": 503, "title": "Service Unavailable"}'
            self.send_response(503)
            self.send_header("Retry-After", "1")
        else:
            body = b'{"ok": true}'
            self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def unavailable_twice() -> Iterator[str]:
    BrieflyUnavailable.answered = 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), BrieflyUnavailable)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


async def test_a_503_is_retried_after_what_retry_after_asks_and_an_unreachable_instance_fails_over(
    unavailable_twice: str,
) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    endpoints = Endpoints(requests=dead, approvals=dead, notifications=dead, contracts=dead)
    client = Client(endpoints=endpoints, jwt_secret=JWT_SECRET, timeout=30, mirrors={dead: (unavailable_twice,)})
    try:
        started = time.monotonic()
        r = await client.call("GET", f"{dead}/requests/anything")
        elapsed = time.monotonic() - started
    finally:
        await client.aclose()
    assert r.json() == {"ok": True}
    assert client.retries["503"] == 2
    assert client.retries["connection error"] >= 1
    assert elapsed >= 1.6  # two Retry-After: 1 (with jitter of at most 20 %)


async def test_a_failing_flow_is_reported_with_its_reason_while_the_others_complete_through_a_restart(
    platform: Platform, capsys: pytest.CaptureFixture[str]
) -> None:
    async def second_one_fails(client: Client, cast: Cast, vendor: Vendor) -> FlowResult:
        if not hasattr(second_one_fails, "started"):
            second_one_fails.started = 0  # type: ignore[attr-defined]
        second_one_fails.started += 1  # type: ignore[attr-defined]
        if second_one_fails.started == 2:  # type: ignore[attr-defined]
            raise FlowError("the vendor never answered")
        return await walk(client, cast, vendor)

    endpoints = Endpoints(
        requests=platform.url("requests"),
        approvals=platform.url("approvals"),
        notifications=platform.url("notifications"),
        contracts=platform.url("contracts"),
        mailbox=platform.mailbox_url,
    )

    async def restart_requests_meanwhile() -> None:
        await asyncio.sleep(3)
        platform.services["requests"].kill()
        await asyncio.sleep(1)
        platform.services["requests"].restart()

    load = asyncio.create_task(run_load(endpoints, JWT_SECRET, flows=4, rate=2.0, flow=second_one_fails))
    await restart_requests_meanwhile()
    report = await load
    await platform.wait_healthy(["requests"])

    assert len(report.completed) == 3
    assert [(f.index, f.reason) for f in report.failed] == [(1, "FlowError: the vendor never answered")]
    assert report.retries["connection error"] > 0
    assert set(report.hop_percentiles()) >= {"submitted -> task assigned", "both signed -> executed"}
    printed = capsys.readouterr().out
    assert "4 flows started at 2/s: 3 completed, 1 failed" in printed
    assert "1 x FlowError: the vendor never answered" in printed
    assert "submitted -> task assigned" in printed
