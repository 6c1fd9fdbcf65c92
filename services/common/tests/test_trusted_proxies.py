"""X-Forwarded-For is believed only from configured proxies, through a real uvicorn server on loopback."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Request

from backoffice_common.cli import proxy_options
from backoffice_common.settings import ServiceSettings


def echo_app() -> FastAPI:
    app = FastAPI()

    @app.get("/whoami")
    async def whoami(request: Request) -> dict[str, Any]:
        return {"client": request.client.host if request.client else None}

    return app


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def client_address_seen(settings: ServiceSettings) -> str:
    port = free_port()
    config = uvicorn.Config(echo_app(), host="127.0.0.1", port=port, log_config=None, **proxy_options(settings))
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            await asyncio.sleep(0.05)
        async with httpx.AsyncClient() as client:
            r = await client.get(f"http://127.0.0.1:{port}/whoami", headers={"X-Forwarded-For": "203.0.113.9"})
        return str(r.json()["client"])
    finally:
        server.should_exit = True
        await task


async def test_a_local_caller_cannot_choose_its_address_when_no_proxy_is_configured() -> None:
    assert await client_address_seen(ServiceSettings()) == "127.0.0.1"


@pytest.mark.parametrize("proxies", [["127.0.0.1"], ["127.0.0.0/8"]])
async def test_a_configured_proxy_forwards_the_clients_address(proxies: list[str]) -> None:
    assert await client_address_seen(ServiceSettings(trusted_proxies=proxies)) == "203.0.113.9"


async def test_a_proxy_elsewhere_does_not_make_a_local_caller_trusted() -> None:
    assert await client_address_seen(ServiceSettings(trusted_proxies=["10.0.0.0/8"])) == "127.0.0.1"
