"""FastAPI dependencies of the notifications routers: this service's unit of work and settings, staff users."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from backoffice_common.auth import User, require_roles
from backoffice_common.deps import settings_of, uow_of
from backoffice_notifications.service.uow import NotificationsUnitOfWork
from backoffice_notifications.settings import Settings

Uow = Annotated[NotificationsUnitOfWork, Depends(uow_of(NotificationsUnitOfWork))]
"""A unit of work opened for the request; the use case commits it."""
_settings_of = settings_of(Settings)


async def settings_dependency(request: Request) -> Settings:
    """``settings_of(Settings)`` as a coroutine: FastAPI runs a plain ``def`` dependency in its thread pool (a
    hand-off to a worker thread and back on every request, the vendor webhook's two a flow included) where this
    one only reads ``app.state``."""
    return _settings_of(request)


SettingsDep = Annotated[Settings, Depends(settings_dependency)]
Staff = Annotated[User, Depends(require_roles("procurement", "admin"))]
