"""``python -m backoffice_<service> {serve,migrate,dlq}`` for every service (and a service's own commands)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import importlib
import os
import sys
import time
from collections.abc import Callable, Iterator
from email.utils import formatdate
from pathlib import Path
from types import FrameType
from typing import Any, NamedTuple, TypedDict

import uvicorn

from backoffice_common import dlq_cli
from backoffice_common.migrations import upgrade
from backoffice_common.settings import ServiceSettings


class ProxyOptions(TypedDict, total=False):
    proxy_headers: bool
    forwarded_allow_ips: str


def proxy_options(settings: ServiceSettings) -> ProxyOptions:
    """uvicorn's forwarded-header options: believed only from the configured proxies (uvicorn would
    otherwise trust any caller on 127.0.0.1)."""
    if not settings.trusted_proxies:
        return {"proxy_headers": False}
    return {"proxy_headers": True, "forwarded_allow_ips": ",".join(settings.trusted_proxies)}


class LiveDateHeaders(list[tuple[bytes, bytes]]):
    """uvicorn's default response headers (``server_state.default_headers``) whose ``Date`` is rendered
    when a response takes them, at most once a second, instead of by the server's housekeeping tick.

    uvicorn's protocols read the list once per response (``default_headers + headers``, or iterate it):
    both go through here, so the header is as fresh as uvicorn's once-a-second refresh made it."""

    def __init__(self, headers: list[tuple[bytes, bytes]]) -> None:
        super().__init__(headers)
        self._second = -1
        self._date_at = next((i for i, (name, _) in enumerate(headers) if name == b"date"), None)

    def _fresh(self) -> None:
        now = int(time.time())
        if self._date_at is not None and now != self._second:
            self._second = now
            self[self._date_at] = (b"date", formatdate(now, usegmt=True).encode())

    def __add__(self, other: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:  # type: ignore[override]
        self._fresh()
        return list.__add__(self, other)

    def __iter__(self) -> Iterator[tuple[bytes, bytes]]:
        self._fresh()
        return list.__iter__(self)


def freeze_startup_heap() -> None:
    """Collect once, then move every object alive after start-up (the modules, the app, its routes and
    models, the pools) into the collector's permanent generation (``gc.freeze``), so that a full
    (generation-2) collection no longer walks them. Before, a full collection walked the whole start-up
    heap - 100-300 ms of CPU in a service, once every minute or so under load - and held the event
    loop (or, from a worker thread, the GIL) all that time: the longest stall of every service and the
    tail of the hops (docs/performance.md, ninth round). Objects created later are collected as before;
    the frozen ones are never freed, which is what they are (alive for the process's life)."""
    gc.collect()
    gc.freeze()


class QuietServer(uvicorn.Server):
    """uvicorn's server with its housekeeping tick (the exit flag, ``limit_max_requests``) once a minute
    instead of ten times a second, and the ``Date`` header rendered per response (``LiveDateHeaders``)
    instead of by the tick. Ten wake-ups a second were a third of an idle service's CPU (fourth round),
    the one a second left then half of it (docs/performance.md, sixth round: idle). A signal still ends
    the wait at once, so a stop is as quick. Once started (the app's lifespan has run), it freezes the
    start-up heap (``freeze_startup_heap``)."""

    TICK_SECONDS = 60.0

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._exit_requested: asyncio.Event | None = None

    async def main_loop(self) -> None:
        freeze_startup_heap()
        self._loop = asyncio.get_running_loop()
        self._exit_requested = asyncio.Event()
        if self.should_exit:
            self._exit_requested.set()
        counter = 0
        should_exit = await self.on_tick(counter)
        while not should_exit:
            # on_tick sets the default headers when counter % 10 == 0, as once a second before
            counter = (counter + 10) % 864000
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._exit_requested.wait(), self.TICK_SECONDS)
            should_exit = await self.on_tick(counter)

    async def on_tick(self, counter: int) -> bool:
        should_exit = await super().on_tick(counter)
        headers = self.server_state.default_headers
        if not isinstance(headers, LiveDateHeaders):
            self.server_state.default_headers = LiveDateHeaders(headers)
        return should_exit

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        loop, event = self._loop, self._exit_requested
        if loop is not None and event is not None:
            with contextlib.suppress(RuntimeError):  # the loop is already closed
                loop.call_soon_threadsafe(event.set)


def run_server(config: uvicorn.Config) -> None:
    """``uvicorn.run`` with the ``QuietServer``: serve until a signal; exit 3 if it could not start."""
    server = QuietServer(config)
    with contextlib.suppress(KeyboardInterrupt):
        server.run()
    if not server.started:
        sys.exit(3)  # uvicorn's STARTUP_FAILURE, as uvicorn.run exits


class Command(NamedTuple):
    """A service's own subcommand: ``add_arguments(sub)`` adds its parser, ``run(settings, args)`` its exit code."""

    add_arguments: Callable[[argparse._SubParsersAction[argparse.ArgumentParser]], None]
    run: Callable[[Any, argparse.Namespace], int]


def main(
    *,
    app_path: str,
    settings_factory: Callable[[], ServiceSettings],
    migrations: Path,
    default_port: int,
    commands: dict[str, Command] | None = None,
) -> None:
    parser = argparse.ArgumentParser(description="Run or migrate a back-office service.")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the HTTP API and run the workers")
    serve.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    serve.add_argument("--port", type=int, default=int(os.environ.get("PORT", default_port)))
    serve.add_argument(
        "--timeout-graceful-shutdown",
        type=int,
        default=None,
        help="seconds open requests get to finish after SIGTERM (keep below the pod's grace period)",
    )
    sub.add_parser("migrate", help="apply database migrations up to head")
    dlq_cli.add_arguments(sub)
    for command in (commands or {}).values():
        command.add_arguments(sub)
    args = parser.parse_args()
    settings = settings_factory()
    if commands and args.command in commands:
        raise SystemExit(commands[args.command].run(settings, args))
    if args.command == "migrate":
        upgrade(migrations, settings.database_url)
        return
    if args.command == "dlq":
        module, _, factory = app_path.partition(":")
        raise SystemExit(dlq_cli.run(getattr(importlib.import_module(module), factory)(), args))
    run_server(
        uvicorn.Config(
            app_path,
            factory=True,
            host=args.host,
            port=args.port,
            log_config=None,
            **proxy_options(settings),
            server_header=False,
            timeout_graceful_shutdown=args.timeout_graceful_shutdown,
        )
    )
