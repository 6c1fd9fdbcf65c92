"""FastAPI dependencies of the requests API: its own unit of work, typed."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from backoffice_common.deps import uow_of
from backoffice_requests.service.uow import RequestsUnitOfWork

UowDep = Annotated[RequestsUnitOfWork, Depends(uow_of(RequestsUnitOfWork))]
"""A unit of work opened for the HTTP request; the use case commits it."""
