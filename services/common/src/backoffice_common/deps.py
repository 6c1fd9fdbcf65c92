"""FastAPI dependencies every service uses: the unit of work and the settings of the running app."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Annotated, Any, TypeVar

import asyncpg
from fastapi import Depends, Request

from backoffice_common.db import read_connection
from backoffice_common.settings import ServiceSettings
from backoffice_common.uow import UnitOfWork

S = TypeVar("S", bound=ServiceSettings)
U = TypeVar("U", bound=UnitOfWork)


async def _uow(request: Request) -> AsyncIterator[UnitOfWork]:
    async with request.app.state.uow_factory() as uow:
        yield uow


UowDep = Annotated[UnitOfWork, Depends(_uow)]
"""A unit of work opened for the request; the use case commits it."""


async def _read_connection(request: Request) -> AsyncIterator[asyncpg.Connection]:
    async with read_connection(request.app.state.engine) as connection:
        yield connection


ReadConnection = Annotated[asyncpg.Connection, Depends(_read_connection)]
"""A pooled asyncpg connection without a transaction or unit of work, for a ``GET`` that reads what it
answers in ONE statement (``db.read_connection``: why one). Put it after the route's authentication
dependency, so a refused caller checks out no connection."""


def uow_of(cls: type[U]) -> Callable[[Request], AsyncIterator[U]]:
    """A dependency opening the app's unit of work typed as the service's own class:

    ``UowDep = Annotated[RequestsUnitOfWork, Depends(uow_of(RequestsUnitOfWork))]``
    """

    async def dependency(request: Request) -> AsyncIterator[U]:
        async with request.app.state.uow_factory() as uow:
            if not isinstance(uow, cls):
                raise RuntimeError(f"the app's unit of work is a {type(uow).__name__}, not a {cls.__name__}")
            yield uow

    dependency.__name__ = f"uow_of_{cls.__name__}"
    return dependency


def app_settings(request: Request) -> ServiceSettings:
    """The settings the app was created with (``create_service_app`` keeps them on ``app.state``): for code that
    is not a dependency; a route takes ``SettingsDep`` or ``settings_of``."""
    settings = request.app.state.settings
    if not isinstance(settings, ServiceSettings):
        raise RuntimeError("app.state.settings is not set: build the app with create_service_app")
    return settings


def settings_from(request: Request, cls: type[S]) -> S:
    """``app_settings`` typed as the service's own class."""
    settings = app_settings(request)
    if not isinstance(settings, cls):
        raise RuntimeError(f"app.state.settings is a {type(settings).__name__}, not a {cls.__name__}")
    return settings


async def settings_dep(request: Request) -> ServiceSettings:
    """``app_settings`` as a dependency. A coroutine, as every dependency here: FastAPI runs a plain ``def``
    dependency in its thread pool, a hand-off to a worker thread and back on every request (about 0.23 ms,
    ``services/notifications/bench/settings_dep_cpu.py``)."""
    return app_settings(request)


SettingsDep = Annotated[ServiceSettings, Depends(settings_dep)]
"""The shared settings; a service wanting its own class uses ``settings_of``."""


def settings_of(cls: type[S]) -> Callable[[Request], Coroutine[Any, Any, S]]:
    """A dependency returning the app's settings typed as the service's own class (a coroutine, see
    ``settings_dep``):

    ``SettingsDep = Annotated[Settings, Depends(settings_of(Settings))]``
    """

    async def dependency(request: Request) -> S:
        return settings_from(request, cls)

    dependency.__name__ = f"settings_of_{cls.__name__}"
    return dependency


__all__ = [
    "ReadConnection",
    "SettingsDep",
    "UowDep",
    "app_settings",
    "settings_dep",
    "settings_from",
    "settings_of",
    "uow_of",
]
