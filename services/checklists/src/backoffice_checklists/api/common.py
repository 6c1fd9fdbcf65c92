"""Shared bits of the routers: the unit of work typed as ours, path parameters, aggregates -> read models."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, cast

from fastapi import Depends, Path

from backoffice_checklists.domain.checklists import Checklist, Item
from backoffice_checklists.domain.templates import Template
from backoffice_checklists.schemas import ChecklistRead, ChecklistSummary, ItemRead, Progress, TemplateRead
from backoffice_checklists.service.uow import ChecklistsUnitOfWork
from backoffice_checklists.settings import Settings
from backoffice_common.deps import UowDep, settings_of
from backoffice_common.strings import NUL_FREE_NONEMPTY


async def _ours(uow: UowDep) -> ChecklistsUnitOfWork:
    return cast(ChecklistsUnitOfWork, uow)


Uow = Annotated[ChecklistsUnitOfWork, Depends(_ours)]
SettingsDep = Annotated[Settings, Depends(settings_of(Settings))]
ChecklistId = Annotated[str, Path(pattern=r"^[0-9a-fA-F-]{36}$")]
ItemKey = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9_.-]{0,99}$")]
TemplateKey = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9_.-]{0,99}$")]
EmployeeId = Annotated[str, Path(min_length=1, max_length=200, pattern=NUL_FREE_NONEMPTY)]
GroupName = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9_.-]{0,99}$")]


def item_read(item: Item, today: date | None = None) -> ItemRead:
    return ItemRead(
        key=item.key,
        title=item.title,
        responsible=item.responsible,
        assignee_group=item.assignee_group,
        assignee_user=item.assignee_user,
        due_on=item.due_on,
        evidence_kind=item.evidence_kind,
        depends_on=list(item.depends_on),
        access_revocation=item.access_revocation,
        status=item.status,
        evidence=item.evidence,
        done_by=item.done_by,
        done_at=item.done_at,
        overdue=item.status != "done" and (item.overdue_at is not None or (today is not None and item.due_on < today)),
        escalated_to=item.escalated_to,
        red_flag=item.red_flag,
        purchase_request_id=item.purchase_request_id,
    )


def progress_of(checklist: Checklist) -> Progress:
    done, total = checklist.progress
    return Progress(done=done, total=total, percent=round(100 * done / total) if total else 100)


def checklist_read(checklist: Checklist) -> ChecklistRead:
    today = date.today()
    return ChecklistRead(
        id=checklist.id,
        kind=checklist.kind,
        status=checklist.status,
        employee=checklist.employee.as_dict(),
        template={"key": checklist.template_key, "version": checklist.template_version},
        started_at=checklist.started_at,
        ended_at=checklist.ended_at,
        progress=progress_of(checklist),
        red_flags=sum(1 for i in checklist.items if i.red_flag),
        items=[item_read(i, today) for i in checklist.items],
    )


def checklist_summary(checklist: Checklist) -> ChecklistSummary:
    today = date.today()
    items = [item_read(i, today) for i in checklist.items]
    return ChecklistSummary(
        id=checklist.id,
        kind=checklist.kind,
        status=checklist.status,
        employee=checklist.employee.as_dict(),
        started_at=checklist.started_at,
        progress=progress_of(checklist),
        overdue_items=[i for i in items if i.overdue] if checklist.status == "running" else [],
        red_flags=sum(1 for i in checklist.items if i.red_flag),
    )


def template_read(template: Template, row: Any = None) -> TemplateRead:
    return TemplateRead.model_validate(
        {
            "key": template.key,
            "version": template.version,
            "kind": template.kind,
            "language": template.language,
            "title": template.title,
            "items": [item.as_dict() for item in template.items],
            "created_by": getattr(row, "created_by", None),
            "created_at": getattr(row, "created_at", None),
        }
    )
