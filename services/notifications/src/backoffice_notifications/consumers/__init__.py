"""Entry points for consumed events, one module per topic: event -> parse_payload -> use case.

Handlers are ``async (event, uow, settings)``; ``handlers(settings)`` binds the settings and hands each
the shared runtime's unit of work as this service's class. The shared consumer commits.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from backoffice_common.consumer import Handler
from backoffice_common.events import CloudEvent
from backoffice_common.uow import UnitOfWork
from backoffice_notifications.consumers import approvals, budgets, checklists, contracts, requests
from backoffice_notifications.service.uow import NotificationsUnitOfWork, notifications_uow
from backoffice_notifications.settings import Settings

Entry = Callable[[CloudEvent, NotificationsUnitOfWork, Settings], Awaitable[str | None]]
HANDLERS: Mapping[str, Entry] = {
    **requests.HANDLERS,
    **approvals.HANDLERS,
    **contracts.HANDLERS,
    **budgets.HANDLERS,
    **checklists.HANDLERS,
}


def _bind(entry: Entry, settings: Settings) -> Handler:
    async def handle(event: CloudEvent, uow: UnitOfWork) -> str | None:
        return await entry(event, notifications_uow(uow), settings)

    return handle


def handlers(settings: Settings) -> dict[str, Handler]:
    return {event_type: _bind(entry, settings) for event_type, entry in HANDLERS.items()}
