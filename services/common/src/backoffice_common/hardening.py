"""Response headers a browser needs to be safe with what a service serves, and who may read the
operational pages: the policies, which ``backoffice_common.edge.ServiceEdge`` applies.

Vendors open signed-link pages and PDF downloads in an ordinary browser: every answer says what it
is (``nosniff``), may not be framed (``frame-ancestors 'none'``), loads nothing (``default-src
'none'``), leaks no address in ``Referer`` and is not kept by a browser or proxy cache
(``no-store``). A route that sets one of these headers itself keeps its own value. The API
documentation pages run Swagger UI and ReDoc, which need their own scripts: they get a policy that
allows this service's origin and nothing else.

``/metrics`` and the documentation (``/docs``, ``/redoc``, ``/openapi.json``) answer only to the
networks the settings list (``metrics_allow_from``, ``docs_allow_from``; unset means anyone, an
empty list nobody). Anyone else gets a 404, as if the page did not exist.
"""

from __future__ import annotations

from collections.abc import Sequence
from ipaddress import IPv4Network, IPv6Network

Network = IPv4Network | IPv6Network

API_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
DOCS_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; worker-src 'self' blob:; frame-ancestors 'none'; base-uri 'none'"
)
DOCS_PATHS = ("/docs", "/redoc", "/openapi.json")
METRICS_PATHS = ("/metrics",)


def matches(path: str, prefixes: Sequence[str]) -> bool:
    """Whether ``path`` is one of ``prefixes`` or below one of them."""
    return any(path == p or path.startswith(p + "/") for p in prefixes)


__all__ = ["API_POLICY", "DOCS_PATHS", "DOCS_POLICY", "METRICS_PATHS", "Network", "matches"]
