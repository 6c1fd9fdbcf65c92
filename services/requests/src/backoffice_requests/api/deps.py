"""FastAPI dependencies of the requests API: its own unit of work, typed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request

from backoffice_requests.service.uow import RequestsUnitOfWork


async def _uow(request: Request) -> AsyncIterator[RequestsUnitOfWork]:
    async with request.app.state.uow_factory() as uow:
        if not isinstance(uow, RequestsUnitOfWork):
            raise TypeError("the app's unit of work is not a RequestsUnitOfWork: build it with main.create_app")
        yield uow


UowDep = Annotated[RequestsUnitOfWork, Depends(_uow)]
"""A unit of work opened for the HTTP request; the use case commits it."""
