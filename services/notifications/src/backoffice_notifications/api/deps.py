"""FastAPI dependencies of the notifications routers: this service's unit of work and settings, staff users."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from backoffice_common.auth import User, require_roles
from backoffice_common.deps import settings_of, uow_of
from backoffice_notifications.service.uow import NotificationsUnitOfWork
from backoffice_notifications.settings import Settings

Uow = Annotated[NotificationsUnitOfWork, Depends(uow_of(NotificationsUnitOfWork))]
"""A unit of work opened for the request; the use case commits it."""
SettingsDep = Annotated[Settings, Depends(settings_of(Settings))]
"""A coroutine (``settings_of``): FastAPI runs a plain ``def`` dependency in its thread pool."""
Staff = Annotated[User, Depends(require_roles("procurement", "admin"))]
