"""``GET /tasks``: a page of the user's open tasks (their own and those of whoever they stand in for),
or of the tasks they decided or that were assigned to them and decided, with an opaque cursor."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import replace
from datetime import datetime
from typing import Any

import asyncpg

from backoffice_approvals.repository.task_lists import OPEN, TaskFilter, task_page_rows_now
from backoffice_approvals.schemas import TaskPageRead, TaskRequestBrief, TaskSummaryRead
from backoffice_approvals.service.planning import now_utc
from backoffice_common.auth import User
from backoffice_common.errors import AppError


class BadCursor(AppError):
    """A list cursor this service did not issue, or issued for another list."""


def encode_cursor(state: str, at: datetime, task_id: str) -> str:
    raw = json.dumps([state, at.isoformat(), task_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, state: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        issued_for, at, task_id = json.loads(raw)
        position = datetime.fromisoformat(at), str(task_id)
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
        raise BadCursor("the cursor is not one this service issued") from None
    if issued_for != state or position[0].tzinfo is None:
        raise BadCursor(f"the cursor was not issued for the {state} tasks")
    return position


async def task_page(
    *, conn: asyncpg.Connection, user: User, where: TaskFilter, overdue: bool | None, cursor: str | None, limit: int
) -> TaskPageRead:
    """On a connection without a transaction (``backoffice_common.db.read_connection``): the page and who
    the user stands in for are one statement (``task_page_rows_now``), so they see one state."""
    now = now_utc()
    if overdue is True:
        where = replace(where, due_before=min(where.due_before or now, now))
    elif overdue is False:
        where = replace(where, due_from=max(where.due_from or now, now))
    after = decode_cursor(cursor, where.state) if cursor is not None else None
    rows = await task_page_rows_now(conn, user_id=user.sub, now=now, where=where, after=after, limit=limit + 1)
    page, more = rows[:limit], len(rows) > limit
    items = [_summary(r, now) for r in page]
    if not (more and page):
        return TaskPageRead(items=items, next_cursor=None)
    last = page[-1]
    return TaskPageRead(
        items=items,
        next_cursor=encode_cursor(where.state, last.due_at if where.state == OPEN else last.decided_at, last.id),
    )


def _summary(row: Any, now: datetime) -> TaskSummaryRead:
    return TaskSummaryRead(
        id=row.id,
        chain_id=row.chain_id,
        request_id=row.request_id,
        step=row.step,
        status=row.status,
        assignee=row.assignee,
        on_behalf_of=row.on_behalf_of,
        decision=row.decision,
        decided_by=row.decided_by,
        decided_at=row.decided_at,
        due_at=row.due_at,
        overdue=row.status == OPEN and row.due_at < now,
        created_at=row.created_at,
        request=TaskRequestBrief(
            number=row.request_number,
            title=row.request_title,
            requester_name=row.request_requester_name,
            total=row.request_total,
            currency=row.request_currency,
        ),
    )
