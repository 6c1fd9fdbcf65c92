"""FastAPI dependencies of the contracts API: its unit of work, settings and document adapter, typed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request

from backoffice_common.deps import settings_of
from backoffice_contracts.documents import Documents
from backoffice_contracts.service.uow import ContractsUnitOfWork
from backoffice_contracts.settings import Settings


async def _uow(request: Request) -> AsyncIterator[ContractsUnitOfWork]:
    async with request.app.state.uow_factory() as uow:
        if not isinstance(uow, ContractsUnitOfWork):
            raise RuntimeError("build the app with ServiceSpec(uow_class=ContractsUnitOfWork)")
        yield uow


def _documents(request: Request) -> Documents:
    documents: Documents = request.app.state.documents
    return documents


ContractsUow = Annotated[ContractsUnitOfWork, Depends(_uow)]
SettingsDep = Annotated[Settings, Depends(settings_of(Settings))]
DocumentsDep = Annotated[Documents, Depends(_documents)]
