"""Items: what the caller has to do, and completing an item with its evidence."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from backoffice_checklists.api.common import ChecklistId, ItemKey, Uow, item_read
from backoffice_checklists.schemas import ItemComplete, ItemRead, MyItemRead
from backoffice_checklists.service import checklists as service
from backoffice_common.auth import CurrentUser
from backoffice_common.openapi import problem_responses

router = APIRouter(tags=["items"])


@router.get("/me/items", response_model=list[MyItemRead])
async def my_items(
    uow: Uow,
    user: CurrentUser,
    include_waiting: bool = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[MyItemRead]:
    """Open items assigned to the caller, to a group of theirs, or escalated to one; earliest due first.

    Items waiting for others are left out unless ``include_waiting``.
    """
    groups = await service.groups_of(uow=uow, user=user)
    today = date.today()
    rows = await uow.checklists.open_items_of(user=user.sub, groups=groups, limit=limit)
    return [
        MyItemRead(
            **item_read(item, today).model_dump(),
            checklist_id=row.checklist_id,
            kind=row.kind,
            employee={"id": row.employee["id"], "name": row.employee["name"]},
        )
        for row, item in rows
        if include_waiting or item.status == "ready"
    ]


@router.post(
    "/checklists/{checklist_id}/items/{key}/complete", response_model=ItemRead, responses=problem_responses(409)
)
async def complete_item(
    checklist_id: ChecklistId, key: ItemKey, body: ItemComplete, uow: Uow, user: CurrentUser
) -> ItemRead:
    """Close the item with the evidence it asks for; completing a done item again changes nothing."""
    item = await service.complete_item(uow=uow, checklist_id=checklist_id, key=key, evidence=body.evidence, user=user)
    await uow.commit()
    return item_read(item)
