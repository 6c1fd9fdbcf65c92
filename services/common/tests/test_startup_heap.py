"""Once the server has started, the heap of its start-up is frozen out of the collector's full collections
(docs/performance.md, ninth round: hop latency): a generation-2 collection walked the whole start-up heap,
100-300 ms of CPU in a service, and held the event loop (or, from a worker thread, the GIL) all that time.
What was already garbage at start-up is collected first, not frozen (it would never be freed)."""

from __future__ import annotations

import asyncio
import gc
import signal
import socket
import weakref
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn

from backoffice_common.cli import QuietServer


class _Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the cyclic collector frees it


def _in_collected_generations(obj: object) -> bool:
    return any(o is obj for o in gc.get_objects())  # the permanent (frozen) generation is not listed


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()  # leave the test process's heap as it was


async def test_the_start_up_heap_is_frozen_after_start_and_its_garbage_collected_first(unfrozen: None) -> None:
    kept: dict[str, Any] = {}
    dead: list[weakref.ref[_Node]] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            message = await receive()
            assert message["type"] == "lifespan.startup"
            kept["state"] = _Node()  # alive for the app's life, as its pools and caches are
            garbage = _Node()  # garbage of the start-up (a cycle nobody refers to)
            dead.append(weakref.ref(garbage))
            del garbage
            await send({"type": "lifespan.startup.complete"})
            message = await receive()
            await send({"type": "lifespan.shutdown.complete"})
            return
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    gc.disable()  # no collection may free the start-up garbage but the server's own
    try:
        previous = signal.signal(signal.SIGTERM, lambda *_: None)
        port = _free_port()
        server = QuietServer(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="on"))
        task = asyncio.create_task(server.serve())
        try:
            while not server.started:
                await asyncio.sleep(0.05)
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
                assert (await client.get("/")).status_code == 200  # main_loop has run its first lines
            assert gc.get_freeze_count() > 0
            assert not _in_collected_generations(kept["state"]), "the start-up state is still walked"
            assert dead[0]() is None, "the start-up garbage was frozen instead of collected"
            after = _Node()  # created after start-up: collected as before
            assert _in_collected_generations(after)
            gone = weakref.ref(after)
            del after
            gc.collect()
            assert gone() is None
        finally:
            server.handle_exit(signal.SIGTERM, None)
            await asyncio.wait_for(task, timeout=5)
            signal.signal(signal.SIGTERM, previous)
    finally:
        gc.enable()
