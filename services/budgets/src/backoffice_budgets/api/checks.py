"""Budget checks of a request, one per priced revision, as published in ``budget.checked``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from backoffice_budgets.api.auth import Reader
from backoffice_budgets.api.common import Uow
from backoffice_budgets.schemas import CheckRead

router = APIRouter(tags=["checks"])


@router.get("/requests/{request_id}/checks", response_model=list[CheckRead])
async def request_checks(
    request_id: Annotated[str, Path(max_length=100, pattern=r"^[A-Za-z0-9-]+$")], uow: Uow, user: Reader
) -> list[CheckRead]:
    """Every budget check of the request, oldest revision first (empty when none was made yet)."""
    return [CheckRead.model_validate(c) for c in await uow.holds.checks(request_id)]
