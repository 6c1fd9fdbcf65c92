"""Checklists: HR starts, lists and cancels them; the employee, their manager and HR read one."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response, status

from backoffice_checklists.api.auth import Hr
from backoffice_checklists.api.common import (
    ChecklistId,
    EmployeeId,
    SettingsDep,
    Uow,
    checklist_read,
    checklist_summary,
)
from backoffice_checklists.schemas import ChecklistCancel, ChecklistCreate, ChecklistRead, ChecklistSummary
from backoffice_checklists.service import checklists as service
from backoffice_common.auth import CurrentUser
from backoffice_common.errors import Forbidden
from backoffice_common.openapi import problem_responses

router = APIRouter(tags=["checklists"])


@router.post(
    "/checklists",
    status_code=status.HTTP_201_CREATED,
    response_model=ChecklistRead,
    responses={
        200: {"model": ChecklistRead, "description": "the employee's checklist of that kind existed already"},
        **problem_responses(404, 409, s404="Not Found: no such template (problem details)"),
    },
)
async def start_checklist(
    body: ChecklistCreate, uow: Uow, user: Hr, response: Response, settings: SettingsDep
) -> ChecklistRead:
    """Start the employee's checklist of ``kind``; asking again returns the one that exists (200)."""
    uow.attribute_to(actor={"id": user.sub, "name": user.name, "role": "hr"})
    checklist, created = await service.start(
        uow=uow, kind=body.kind, employee=body.employee.domain(), zone=settings.timezone, template_key=body.template
    )
    await uow.commit()
    if not created:
        response.status_code = status.HTTP_200_OK
    return checklist_read(checklist)


@router.get("/checklists", response_model=list[ChecklistSummary])
async def list_checklists(
    uow: Uow,
    user: Hr,
    status_: Annotated[Literal["running", "completed", "cancelled"] | None, Query(alias="status")] = "running",
    kind: Literal["onboarding", "offboarding"] | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> list[ChecklistSummary]:
    """HR's view: checklists with their progress, overdue items and red flags (running ones by default)."""
    checklists = await uow.checklists.page(status=status_, kind=kind, limit=limit, offset=offset)
    return [checklist_summary(c) for c in checklists]


@router.get("/checklists/{checklist_id}", response_model=ChecklistRead)
async def get_checklist(checklist_id: ChecklistId, uow: Uow, user: CurrentUser) -> ChecklistRead:
    checklist = await service.get(uow=uow, checklist_id=checklist_id)
    if not service.may_read(checklist, user):
        raise Forbidden("only HR, the employee and their manager read this checklist")
    return checklist_read(checklist)


@router.post("/checklists/{checklist_id}/cancel", response_model=ChecklistRead, responses=problem_responses(409))
async def cancel_checklist(checklist_id: ChecklistId, body: ChecklistCancel, uow: Uow, user: Hr) -> ChecklistRead:
    checklist = await service.cancel(uow=uow, checklist_id=checklist_id, reason=body.reason, user=user)
    await uow.commit()
    return checklist_read(checklist)


@router.get(
    "/employees/{employee_id}/checklists",
    response_model=list[ChecklistRead],
)
async def checklists_of_employee(employee_id: EmployeeId, uow: Uow, user: CurrentUser) -> list[ChecklistRead]:
    """One employee's checklists (onboarding, offboarding, cancelled ones too), for HR and the employee."""
    if user.sub != employee_id and not user.has_any(*service.MANAGES_ALL):
        raise Forbidden("only HR and the employee themself read an employee's checklists")
    return [checklist_read(c) for c in await uow.checklists.of_employee(employee_id)]
