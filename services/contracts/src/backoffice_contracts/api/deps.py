"""FastAPI dependencies of the contracts API: its unit of work, settings and document adapter, typed."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from backoffice_common.deps import settings_of, uow_of
from backoffice_contracts.documents import Documents
from backoffice_contracts.service.uow import ContractsUnitOfWork
from backoffice_contracts.settings import Settings


async def _documents(request: Request) -> Documents:
    documents: Documents = request.app.state.documents
    return documents


ContractsUow = Annotated[ContractsUnitOfWork, Depends(uow_of(ContractsUnitOfWork))]
SettingsDep = Annotated[Settings, Depends(settings_of(Settings))]
DocumentsDep = Annotated[Documents, Depends(_documents)]
