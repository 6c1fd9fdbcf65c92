"""Onboarding and offboarding lead times, for HR, procurement and admins."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query

from backoffice_common.app import UowDep
from backoffice_common.auth import User, require_roles
from backoffice_common.errors import Invalid
from backoffice_insights.api.deps import _aware
from backoffice_insights.api.export import CSV_RESPONSE, Format, csv_response
from backoffice_insights.repository import checklist_leads
from backoffice_insights.schemas import ChecklistLeadRow, ChecklistLeadTimesRead

router = APIRouter(prefix="/insights/checklists", tags=["checklists"])
People = Annotated[User, Depends(require_roles("hr", "procurement", "admin"))]


@router.get("/lead-times", response_model=ChecklistLeadTimesRead, responses=CSV_RESPONSE)
async def lead_times(
    uow: UowDep,
    user: People,
    kind: Literal["onboarding", "offboarding"] | None = None,
    group_by: checklist_leads.LeadGroup = "none",
    start: Annotated[datetime | None, Query(alias="from", description="started at or after (RFC 3339)")] = None,
    end: Annotated[datetime | None, Query(alias="to", description="started before (RFC 3339)")] = None,
    format: Format = "json",
) -> Any:
    """Started -> completed in days per kind (and template or department) of the checklists started in
    [from, to); cancelled and running ones are counted, not timed."""
    start, end = _aware(start, "from"), _aware(end, "to")
    if start is not None and end is not None and end <= start:
        raise Invalid("'to' must be after 'from'", field="to")
    rows = await checklist_leads.lead_times(uow.session, kind=kind, group_by=group_by, start=start, end=end)
    if format == "csv":
        return csv_response(rows, list(ChecklistLeadRow.model_fields), "checklist-lead-times.csv")
    return ChecklistLeadTimesRead(group_by=group_by, rows=[ChecklistLeadRow(**r) for r in rows])
