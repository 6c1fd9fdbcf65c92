"""``GET /tasks``: open tasks paged by due date with filters, the history of decided tasks, lean rows."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from approvals_testkit import snapshot, submitted
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from task_lists_reference import delegators, page_rows_core, task_page_rows

from backoffice_approvals.repository.task_lists import TaskFilter, task_page_rows_now
from backoffice_common.db import make_session_factory, read_connection

LEAN_KEYS = {
    "id",
    "chain_id",
    "request_id",
    "step",
    "status",
    "assignee",
    "on_behalf_of",
    "decision",
    "decided_by",
    "decided_at",
    "due_at",
    "overdue",
    "created_at",
    "request",
}


async def tasks(service: Any, who: str, **params: Any) -> dict[str, Any]:
    r = await service.client.get("/tasks", params=params, headers=service.headers(who))
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def every_page(service: Any, who: str, limit: int, **params: Any) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = await tasks(service, who, limit=limit, **params, **({"cursor": cursor} if cursor else {}))
        assert len(page["items"]) <= limit
        seen += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return seen


async def three_tasks_for_mike(service: Any) -> list[tuple[dict[str, Any], str]]:
    snaps = [snapshot(total="100.00") for _ in range(3)]
    for snap in snaps:
        await service.publish(submitted(snap))
    made = []
    for snap in snaps:
        [assigned] = await service.assigned(snap["request_id"])
        assert assigned.data["assignee"]["id"] == "mike"
        made.append((snap, assigned.data["task_id"]))
    return made


async def move_due(service: Any, task_id: str, due_at: datetime) -> None:
    engine = create_async_engine(service.settings.database_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                text("UPDATE approval_task SET due_at = :d WHERE id = :id"), {"d": due_at, "id": task_id}
            )
    finally:
        await engine.dispose()


async def test_open_tasks_come_in_pages_by_due_date_as_lean_rows_with_their_step_name(service):
    made = await three_tasks_for_mike(service)
    listed = await every_page(service, "mike", limit=2)
    ids = [t["id"] for t in listed]
    assert len(ids) == len(set(ids))
    assert [(t["due_at"], t["id"]) for t in listed] == sorted((t["due_at"], t["id"]) for t in listed)
    assert {task_id for _, task_id in made} <= set(ids)
    for snap, task_id in made:
        [row] = [t for t in listed if t["id"] == task_id]
        assert set(row) == LEAN_KEYS
        assert (row["step"], row["status"], row["overdue"]) == ("manager", "open", False)
        assert row["request"] == {
            "number": snap["number"],
            "title": snap["title"],
            "requester_name": "Alice",
            "total": "100.00",
            "currency": "EUR",
        }
    assert all(t["assignee"]["id"] == "mike" for t in listed)


async def test_open_tasks_filter_by_request_step_due_time_and_overdue(service):
    made = await three_tasks_for_mike(service)
    (first, first_id), (_, second_id), _ = made
    only = await tasks(service, "mike", request_id=first["request_id"])
    assert [t["id"] for t in only["items"]] == [first_id]
    assert (await tasks(service, "mike", request_id=first["request_id"], step="head"))["items"] == []
    managers = await tasks(service, "mike", request_id=first["request_id"], step="manager")
    assert [t["id"] for t in managers["items"]] == [first_id]

    await move_due(service, second_id, datetime.now(UTC) - timedelta(hours=1))
    overdue = await every_page(service, "mike", limit=50, overdue="true")
    assert second_id in [t["id"] for t in overdue]
    assert first_id not in [t["id"] for t in overdue]
    assert all(t["overdue"] for t in overdue)
    not_yet = await every_page(service, "mike", limit=50, overdue="false")
    assert first_id in [t["id"] for t in not_yet]
    assert second_id not in [t["id"] for t in not_yet]
    soon = (datetime.now(UTC) + timedelta(minutes=1)).isoformat()
    due_soon = await every_page(service, "mike", limit=50, due_before=soon)
    assert second_id in [t["id"] for t in due_soon]
    assert first_id not in [t["id"] for t in due_soon]
    assert (await tasks(service, "dave", request_id=first["request_id"]))["items"] == []


async def test_decided_tasks_are_the_deciders_history_newest_first_and_leave_the_open_list(service):
    made = await three_tasks_for_mike(service)
    decided_ids = []
    for _, task_id in made[:2]:
        r = await service.client.post(
            f"/tasks/{task_id}/decision", json={"decision": "approved"}, headers=service.headers("mike")
        )
        assert r.status_code == 200, r.text
        decided_ids.append(task_id)
    history = await tasks(service, "mike", state="decided", limit=1)
    assert [t["id"] for t in history["items"]] == [decided_ids[1]]
    second = await tasks(service, "mike", state="decided", limit=1, cursor=history["next_cursor"])
    assert [t["id"] for t in second["items"]] == [decided_ids[0]]
    row = second["items"][0]
    assert (row["status"], row["decision"], row["decided_by"]["id"], row["overdue"]) == (
        "approved",
        "approved",
        "mike",
        False,
    )
    assert row["step"] == "manager"
    open_ids = [t["id"] for t in await every_page(service, "mike", limit=100)]
    assert made[2][1] in open_ids
    assert not set(decided_ids) & set(open_ids)
    assert not {t["id"] for t in await every_page(service, "dave", limit=100, state="decided")} & set(decided_ids)


async def test_a_cursor_from_another_list_or_made_up_is_refused_with_a_problem(service):
    await three_tasks_for_mike(service)
    page = await tasks(service, "mike", limit=1)
    assert page["next_cursor"]
    for params in ({"state": "decided", "cursor": page["next_cursor"]}, {"cursor": "bm90LWEtY3Vyc29y"}):
        r = await service.client.get("/tasks", params=params, headers=service.headers("mike"))
        assert r.status_code == 400, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
    r = await service.client.get("/tasks", params={"state": "all"}, headers=service.headers("mike"))
    assert r.status_code == 422


async def test_the_default_open_list_raw_statement_answers_row_for_row_as_the_core_statement(service):
    """The unfiltered list runs one raw asyncpg statement (a lateral join over the assignees); the
    filtered ones a Core union. Same rows, same order, same values, first page and after a cursor."""
    await three_tasks_for_mike(service)
    engine = create_async_engine(service.settings.database_url)
    try:
        async with make_session_factory(engine)() as session:
            pages = []
            for after in (None, "second"):
                position = None if after is None else (pages[0][0][1].due_at, pages[0][0][1].id)
                args = {"session": session, "user_id": "mike", "where": TaskFilter(), "after": position}
                raw = await task_page_rows(delegating=["nobody"], limit=2, **args)
                core = await page_rows_core(delegating=["nobody"], limit=2, **args)
                assert [vars(r) for r in raw] == [r._asdict() for r in core]
                assert raw
                pages.append((raw, core))
            assert pages[0][0][0].id != pages[1][0][0].id
            await session.rollback()
    finally:
        await engine.dispose()


async def test_every_filtered_and_decided_list_raw_statement_answers_row_for_row_as_the_core_statement(service):
    """Each filtered list and the decided history run a raw asyncpg statement of their own shape: the same
    rows, order and values as the Core union, on the first page and after a cursor."""
    made = await three_tasks_for_mike(service)
    first_snap, decided_task = made[0][0], made[1][1]
    await move_due(service, made[2][1], datetime.now(UTC) + timedelta(days=30))
    r = await service.client.post(
        f"/tasks/{decided_task}/decision", json={"decision": "approved"}, headers=service.headers("mike")
    )
    assert r.status_code == 200, r.text
    soon = datetime.now(UTC) + timedelta(days=10)
    filters = [
        TaskFilter(request_id=first_snap["request_id"]),
        TaskFilter(due_before=soon),
        TaskFilter(due_from=soon),
        TaskFilter(due_before=soon + timedelta(days=60), due_from=datetime.now(UTC) - timedelta(days=1)),
        TaskFilter(step="manager"),
        TaskFilter(step="no such step"),
        TaskFilter(state="decided"),
        TaskFilter(state="decided", step="manager"),
        TaskFilter(state="decided", request_id=first_snap["request_id"]),
    ]
    engine = create_async_engine(service.settings.database_url)
    compared = 0
    try:
        async with make_session_factory(engine)() as session:
            for where in filters:
                after = None
                for _ in range(3):
                    args = {"session": session, "user_id": "mike", "where": where, "after": after}
                    raw = await task_page_rows(delegating=["nobody"], limit=1, **args)
                    core = await page_rows_core(delegating=["nobody"], limit=1, **args)
                    assert [vars(r) for r in raw] == [r._asdict() for r in core], where
                    if not raw:
                        break
                    compared += 1
                    last = raw[-1]
                    after = (last.decided_at if where.state == "decided" else last.due_at, last.id)
            await session.rollback()
    finally:
        await engine.dispose()
    assert compared >= 8


async def test_the_one_statement_list_answers_as_the_delegators_and_the_page_read_apart(service):
    """``GET /tasks`` reads who the user stands in for and the page in ONE statement on a connection
    without a transaction (``task_page_rows_now``): the same rows as ``delegators`` then
    ``task_page_rows``, for a delegate (an absence of mike's, now, names them; a cancelled one and one
    not begun yet do not count), for mike himself, every filter shape, after a cursor, and decided."""
    made = await three_tasks_for_mike(service)
    first_snap, decided_task = made[0][0], made[1][1]
    r = await service.client.post(
        f"/tasks/{decided_task}/decision", json={"decision": "approved"}, headers=service.headers("mike")
    )
    assert r.status_code == 200, r.text
    now = datetime.now(UTC)
    delegate = f"deputy-{uuid.uuid4().hex[:8]}"
    engine = create_async_engine(service.settings.database_url)
    try:
        async with engine.begin() as conn:
            for user, starts, cancelled in (
                ("mike", now - timedelta(hours=1), None),
                ("dave", now - timedelta(hours=1), now - timedelta(minutes=1)),
                ("max", now + timedelta(hours=1), None),
            ):
                await conn.execute(
                    text(
                        "INSERT INTO absence (id, user_id, delegate_id, starts_at, ends_at, created_by, cancelled_at)"
                        " VALUES (:id, :u, :d, :s, :e, 'test', :c)"
                    ),
                    {
                        "id": str(uuid.uuid4()),
                        "u": user,
                        "d": delegate,
                        "s": starts,
                        "e": now + timedelta(hours=2),
                        "c": cancelled,
                    },
                )
        filters = [
            TaskFilter(),
            TaskFilter(request_id=first_snap["request_id"]),
            TaskFilter(due_before=now + timedelta(days=60)),
            TaskFilter(step="manager"),
            TaskFilter(state="decided"),
        ]
        compared = 0
        async with make_session_factory(engine)() as session, read_connection(engine) as raw:
            for user_id in (delegate, "mike"):
                assert (await delegators(session=session, user_id=user_id, now=now)) == (
                    ["mike"] if user_id == delegate else []
                )
                for where in filters:
                    after = None
                    for _ in range(3):
                        delegating = await delegators(session=session, user_id=user_id, now=now)
                        apart = await task_page_rows(
                            session=session,
                            user_id=user_id,
                            delegating=delegating if where.state == "open" else [],
                            where=where,
                            after=after,
                            limit=1,
                        )
                        one = await task_page_rows_now(raw, user_id=user_id, now=now, where=where, after=after, limit=1)
                        assert [vars(x) for x in one] == [vars(x) for x in apart], (user_id, where)
                        if not one:
                            break
                        compared += 1
                        last = one[-1]
                        after = (last.decided_at if where.state == "decided" else last.due_at, last.id)
            await session.rollback()
        assert compared >= 10
        # the delegate sees mike's open tasks through the endpoint too
        listed = await every_page(service, delegate, limit=1)
        assert made[0][1] in [t["id"] for t in listed]
        assert decided_task not in [t["id"] for t in listed]
    finally:
        await engine.dispose()
