"""HTTP routers of the notifications service (thin: validate, call one use case, shape the answer)."""

from __future__ import annotations

from backoffice_notifications.api import deliveries, links, secret_links, vendors, webhook

ROUTERS = (vendors.router, deliveries.router, webhook.router, links.router, secret_links.router)

__all__ = ["ROUTERS"]
