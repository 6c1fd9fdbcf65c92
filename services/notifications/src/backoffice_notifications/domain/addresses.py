"""Which network addresses an outbound webhook must never reach (SSRF guard)."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit


class UnsafeUrlError(ValueError):
    """A webhook URL the service refuses to call."""


def is_private(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )


def check_url_shape(url: str, *, allow_http: bool) -> str:
    """The host of a syntactically acceptable webhook URL."""
    parts = urlsplit(url)
    if parts.scheme not in ({"https", "http"} if allow_http else {"https"}):
        raise UnsafeUrlError("the webhook URL must use https")
    if not parts.hostname:
        raise UnsafeUrlError("the webhook URL has no host")
    if parts.username or parts.password:
        raise UnsafeUrlError("the webhook URL must not carry credentials")
    return parts.hostname


def check_addresses(addresses: list[str], *, allow_private: bool) -> None:
    if not addresses:
        raise UnsafeUrlError("the webhook host does not resolve")
    if allow_private:
        return
    bad = [a for a in addresses if is_private(a)]
    if bad:
        raise UnsafeUrlError(f"the webhook host resolves to a private, loopback or link-local address ({bad[0]})")
