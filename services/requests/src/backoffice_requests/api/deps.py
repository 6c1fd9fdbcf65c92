"""FastAPI dependencies of the requests API: its own unit of work, typed."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from backoffice_common.deps import uow_of
from backoffice_requests.service.uow import RequestsUnitOfWork

open_uow = uow_of(RequestsUnitOfWork)
"""The dependency itself: the commands' fast paths (``api.fast``) open the unit of work with it too."""

UowDep = Annotated[RequestsUnitOfWork, Depends(open_uow)]
"""A unit of work opened for the HTTP request; the use case commits it."""
