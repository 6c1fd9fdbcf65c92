"""Entry points for consumed events: event -> payload check -> use case."""

from __future__ import annotations

from backoffice_common.consumer import Handler
from backoffice_notifications.consumers import approvals, contracts, requests
from backoffice_notifications.settings import Settings


def build_handlers(settings: Settings) -> dict[str, Handler]:
    return {**requests.handlers(settings), **approvals.handlers(settings), **contracts.handlers(settings)}
