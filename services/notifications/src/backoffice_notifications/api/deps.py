"""FastAPI dependencies of the notifications routers: this service's unit of work and settings, staff users."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request

from backoffice_common.auth import User, require_roles
from backoffice_common.deps import settings_of
from backoffice_notifications.service.uow import NotificationsUnitOfWork, notifications_uow
from backoffice_notifications.settings import Settings


async def _uow(request: Request) -> AsyncIterator[NotificationsUnitOfWork]:
    async with request.app.state.uow_factory() as uow:
        yield notifications_uow(uow)


Uow = Annotated[NotificationsUnitOfWork, Depends(_uow)]
"""A unit of work opened for the request; the use case commits it."""
SettingsDep = Annotated[Settings, Depends(settings_of(Settings))]
Staff = Annotated[User, Depends(require_roles("procurement", "admin"))]
