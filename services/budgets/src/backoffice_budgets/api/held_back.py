"""Events held back until the event they depend on is read (docs/budgets.md, "Event order")."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from backoffice_budgets.api.auth import Finance
from backoffice_budgets.api.budgets import Limit, Text
from backoffice_budgets.api.common import Uow, decode_cursor, encode_cursor
from backoffice_budgets.schemas import HeldBackPage, HeldBackRead
from backoffice_common.errors import Invalid

router = APIRouter(tags=["checks"])


@router.get("/held-back-events", response_model=HeldBackPage)
async def held_back_events(
    uow: Uow,
    user: Finance,
    request_id: Text = None,
    limit: Limit = 100,
    cursor: Annotated[str | None, Query(max_length=500, pattern=r"^[A-Za-z0-9_-]+$")] = None,
) -> HeldBackPage:
    """Held-back request events, oldest first (normally none for long: one that stays names a dependency
    the service never read)."""
    after = decode_cursor(cursor) if cursor else None
    if after is not None and (not isinstance(after, int) or isinstance(after, bool)):
        raise Invalid("the cursor is not one this API returned", field="cursor")
    rows = await uow.pending.page(request_id=request_id, after_seq=after, limit=limit + 1)
    items = [HeldBackRead.model_validate(r, from_attributes=True) for r in rows[:limit]]
    return HeldBackPage(items=items, next_cursor=encode_cursor(items[-1].seq) if len(rows) > limit else None)
