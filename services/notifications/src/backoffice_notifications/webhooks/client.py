"""Posts signed JSON to a vendor's system, after checking where the URL really points (SSRF guard).

The check and the connection use the same addresses: the host is resolved once, the addresses are
checked, and the connection goes to one of those addresses (``PinnedBackend``), so a DNS answer that
changes between the check and the connection (DNS rebinding) cannot redirect the call to a private
network. TLS still verifies the certificate against the URL's host name (SNI is the host, not the
address).
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Iterable, Mapping, Sequence
from contextvars import ContextVar
from typing import Any

import httpcore
import httpx

from backoffice_notifications.domain.addresses import UnsafeUrlError, check_addresses, check_url_shape
from backoffice_notifications.domain.deliveries import DeliveryError
from backoffice_notifications.domain.webhook_signature import signature_header
from backoffice_notifications.settings import Settings


async def resolve(host: str) -> list[str]:
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError:
        return []
    return sorted({str(info[4][0]) for info in infos})


async def check_webhook_url(url: str, *, settings: Settings) -> list[str]:
    """The addresses a URL's host resolves to, once they are checked.

    Raises ``UnsafeUrlError`` for a URL that is malformed or reaches a private network.
    """
    allow = settings.webhook_allow_private_targets
    host = check_url_shape(url, allow_http=allow)
    addresses = await resolve(host)
    check_addresses(addresses, allow_private=allow)
    return addresses


# Host (as the connection pool sees it) -> the checked addresses it may connect to, for this task.
_pinned: ContextVar[Mapping[str, Sequence[str]] | None] = ContextVar("webhook_pinned_addresses", default=None)


class PinnedBackend(httpcore.AsyncNetworkBackend):
    """Connects only to addresses checked for this call; any other host is refused."""

    def __init__(self, inner: httpcore.AsyncNetworkBackend | None = None) -> None:
        self._inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = (_pinned.get() or {}).get(host)
        if not addresses:
            raise httpcore.ConnectError(f"refusing to connect to {host!r}: its address was not checked for this call")
        failure: httpcore.ConnectError | httpcore.ConnectTimeout | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    address, port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None
        raise failure

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("webhooks never use unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20)


class PinnedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport over a connection pool that connects through ``PinnedBackend``.

    No proxy from the environment: a proxy would resolve the host itself, after the check.
    """

    def __init__(self, *, limits: httpx.Limits = _LIMITS) -> None:
        super().__init__(trust_env=False, limits=limits)
        # httpx has no parameter for the network backend; the pool it builds is replaced by the same
        # pool with ours (httpx 0.28 keeps it in ``_pool``; a test covers the connection path).
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=PinnedBackend(),
        )


def webhook_client() -> httpx.AsyncClient:
    """The HTTP client for vendor webhooks: connects only to checked addresses."""
    return httpx.AsyncClient(transport=PinnedTransport(), trust_env=False)


def pool_host(url: str) -> str:
    """The host name as httpcore hands it to the network backend (IDNA-encoded, no brackets)."""
    return httpx.URL(url).raw_host.decode("ascii")


def encode_payload(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()


async def post_signed(
    client: httpx.AsyncClient,
    *,
    url: str,
    payload: dict[str, Any],
    secrets_: list[str],
    msg_id: str,
    settings: Settings,
) -> int:
    try:
        addresses = await check_webhook_url(url, settings=settings)
    except UnsafeUrlError as exc:
        raise DeliveryError(str(exc), permanent=True) from exc
    if not secrets_:
        raise DeliveryError("the vendor has no webhook secret", permanent=False)
    body = encode_payload(payload)
    timestamp = int(time.time())
    headers = {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature_header(secrets_=secrets_, msg_id=msg_id, timestamp=timestamp, body=body),
        "user-agent": "backoffice-notifications/0.1",
    }
    token = _pinned.set({pool_host(url): addresses})
    try:
        response = await client.post(
            url, content=body, headers=headers, timeout=settings.webhook_timeout_seconds, follow_redirects=False
        )
    except httpx.HTTPError as exc:
        raise DeliveryError(f"webhook unreachable: {exc!r}", permanent=False) from exc
    finally:
        _pinned.reset(token)
    if 200 <= response.status_code < 300:
        return response.status_code
    raise DeliveryError(f"webhook answered {response.status_code}", permanent=False)
