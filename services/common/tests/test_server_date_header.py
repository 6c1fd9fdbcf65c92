"""The HTTP server's tick is rare, and every response still carries the current ``Date`` (docs/performance.md,
sixth round: idle): the header is rendered when a response takes uvicorn's default headers, not by the tick."""

from __future__ import annotations

import asyncio
import signal
import socket
import time
from email.utils import parsedate_to_datetime

import httpx
import pytest
import uvicorn

from backoffice_common.cli import LiveDateHeaders, QuietServer


async def _app(scope: dict[str, object], receive: object, send: object) -> None:
    if scope["type"] == "lifespan":
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})  # type: ignore[operator]
    await send({"type": "http.response.body", "body": b"ok"})  # type: ignore[operator]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _CountingServer(QuietServer):
    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ticks = 0

    async def on_tick(self, counter: int) -> bool:
        self.ticks += 1
        return await super().on_tick(counter)


@pytest.mark.parametrize("http", ["httptools", "h11"])
async def test_every_response_carries_the_current_date_while_the_server_does_not_tick(http: str) -> None:
    previous = signal.signal(signal.SIGTERM, lambda *_: None)
    port = _free_port()
    server = _CountingServer(
        uvicorn.Config(_app, host="127.0.0.1", port=port, log_config=None, lifespan="off", http=http)
    )
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            await asyncio.sleep(0.05)
        dates = []
        # one keep-alive connection: the header must not be the one of the connection's first response
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            for _ in range(3):
                response = await client.get("/")
                assert response.status_code == 200
                sent = parsedate_to_datetime(response.headers["date"]).timestamp()
                assert abs(sent - time.time()) <= 1.5, (response.headers["date"], time.time())
                assert len(response.headers.get_list("date")) == 1
                dates.append(sent)
                await asyncio.sleep(1.6)
        assert dates[0] < dates[1] < dates[2], dates
        # 5 s served, and the tick ran once (the first look): uvicorn's own loop would have run 50 times
        assert server.ticks == 1, server.ticks
        assert isinstance(server.server_state.default_headers, LiveDateHeaders)
    finally:
        server.handle_exit(signal.SIGTERM, None)
        await asyncio.wait_for(task, timeout=5)
        signal.signal(signal.SIGTERM, previous)


def test_the_live_headers_keep_the_others_and_add_a_date_only_where_uvicorn_put_one() -> None:
    with_date = LiveDateHeaders([(b"date", b"Thu, 01 Jan 1970 00:00:00 GMT"), (b"server", b"x")])
    joined = with_date + [(b"content-type", b"text/plain")]  # noqa: RUF005 (the operator uvicorn uses)
    assert type(joined) is list
    assert [name for name, _ in joined] == [b"date", b"server", b"content-type"]
    assert abs(parsedate_to_datetime(joined[0][1].decode()).timestamp() - time.time()) <= 1.5
    assert list(with_date)[1] == (b"server", b"x")
    # date_header=False in uvicorn's config: no Date is added
    without = LiveDateHeaders([(b"server", b"x")])
    assert without + [] == [(b"server", b"x")]  # noqa: RUF005
    assert list(without) == [(b"server", b"x")]
