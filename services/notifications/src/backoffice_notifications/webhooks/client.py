"""Posts signed JSON to a vendor's system, after checking where the URL really points (SSRF guard)."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from typing import Any

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


async def check_webhook_url(url: str, *, settings: Settings) -> None:
    """Raises ``UnsafeUrlError`` for a URL that is malformed or reaches a private network."""
    allow = settings.webhook_allow_private_targets
    host = check_url_shape(url, allow_http=allow)
    check_addresses(await resolve(host), allow_private=allow)


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
        await check_webhook_url(url, settings=settings)
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
    try:
        response = await client.post(
            url, content=body, headers=headers, timeout=settings.webhook_timeout_seconds, follow_redirects=False
        )
    except httpx.HTTPError as exc:
        raise DeliveryError(f"webhook unreachable: {exc!r}", permanent=False) from exc
    if 200 <= response.status_code < 300:
        return response.status_code
    raise DeliveryError(f"webhook answered {response.status_code}", permanent=False)
