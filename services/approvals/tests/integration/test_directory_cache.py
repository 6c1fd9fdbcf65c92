"""The approver directory is read whole once per change, not once per use case (migration 0009)."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
from approvals_testkit import snapshot, submitted

from backoffice_approvals.repository import people
from backoffice_approvals.repository.people import directory_on
from backoffice_common.db import read_connection

DEPARTMENTS = 30
PER_DEPARTMENT = 100  # 3000 approvers, beside the suite's own


def big_directory() -> list[dict[str, Any]]:
    """Thirty departments: a head (reporting to carol, no limit), a manager with a limit of 5000 and members."""
    rows: list[dict[str, Any]] = []
    for d in range(DEPARTMENTS):
        dept = f"BIG{d:02d}"
        head, manager = f"bighead{d:02d}", f"bigmgr{d:02d}"
        rows.append(
            {"id": head, "name": f"Head {d}", "email": f"{head}@example.com", "manager_id": "carol",
             "department": dept, "head_of": [dept]}
        )  # fmt: skip
        rows.append(
            {"id": manager, "name": f"Manager {d}", "email": f"{manager}@example.com", "manager_id": head,
             "department": dept, "limit_amount": "5000", "limit_currency": "EUR"}
        )  # fmt: skip
        for i in range(PER_DEPARTMENT - 2):
            person = f"big{d:02d}x{i:03d}"
            rows.append(
                {"id": person, "name": f"Person {d} {i}", "email": f"{person}@example.com", "manager_id": manager,
                 "department": dept, "groups": [f"bigteam{i % 7}"]}
            )  # fmt: skip
    return rows


def _logged(conn: asyncpg.Connection) -> tuple[list[str], Any]:
    sent: list[str] = []

    def log(query: asyncpg.connection.LoggedQuery) -> None:
        sent.append(query.query)

    conn.add_query_logger(log)
    return sent, log


async def _statements_of_loads(service: Any, loads: int) -> tuple[list[Any], list[str]]:
    """``loads`` directory loads on one pooled connection, and the statements they sent."""
    async with read_connection(service.app.state.engine) as conn:
        sent, log = _logged(conn)
        try:
            directories = [await directory_on(conn) for _ in range(loads)]
            await asyncio.sleep(0.05)  # asyncpg calls its query loggers soon after, not during, the query
        finally:
            conn.remove_query_logger(log)
    return directories, sent


async def dry_run(service: Any, requester: str, total: str) -> list[tuple[str, list[str]]]:
    body = {"request": {"requester": {"id": requester}, "currency": "EUR", "total": total, "category": "hardware"}}
    r = await service.client.post("/policies/dry-run", json=body, headers=service.admin)
    assert r.status_code == 200, r.text
    return [(s["name"], [a["assignee"]["id"] for a in s["approvers"]]) for s in r.json()["steps"]]


async def test_routing_in_a_directory_of_thousands_names_the_right_people_and_sees_each_change(service):
    r = await service.client.post("/directory/approvers/import", json={"approvers": big_directory()},
                                  headers=service.admin)  # fmt: skip
    assert r.status_code == 200, r.text
    # The manager's limit is below the amount: passed up to the department's head; the head step then goes
    # to the head's manager (the head fills the first step already).
    assert await dry_run(service, "big07x012", "20000") == [("manager", ["bighead07"]), ("head", ["carol"])]
    snap = snapshot(requester="big07x012", total="20000.00")
    await service.publish(submitted(snap))
    [assigned] = await service.assigned(snap["request_id"])
    assert assigned.data["assignee"]["id"] == "bighead07"

    # A change through the API is seen by the next routing.
    r = await service.client.put("/directory/approvers/bigmgr07",
                                 json={"name": "Manager 7", "email": "bigmgr07@example.com", "manager_id": "bighead07",
                                       "department": "BIG07", "limit_amount": "50000", "limit_currency": "EUR"},
                                 headers=service.admin)  # fmt: skip
    assert r.status_code == 200, r.text
    assert await dry_run(service, "big07x012", "20000") == [("manager", ["bigmgr07"]), ("head", ["bighead07"])]

    # So is an operator's SQL on the table, bypassing the service.
    async with read_connection(service.app.state.engine) as conn:
        await conn.execute("UPDATE approver SET manager_id = 'bigmgr08' WHERE id = 'big07x012'")
    assert await dry_run(service, "big07x012", "20000") == [("manager", ["bighead08"]), ("head", ["bighead07"])]
    async with read_connection(service.app.state.engine) as conn:
        await conn.execute("UPDATE approver SET manager_id = 'bigmgr07' WHERE id = 'big07x012'")
    assert await dry_run(service, "big07x012", "20000") == [("manager", ["bigmgr07"]), ("head", ["bighead07"])]


async def test_an_unchanged_directory_costs_one_small_statement_and_a_change_one_whole_read(service):
    await _statements_of_loads(service, 1)  # whatever this process kept before
    (first, second), sent = await _statements_of_loads(service, 2)
    assert second is first
    assert sent == [people._VERSION_SQL, people._VERSION_SQL]

    r = await service.client.put("/directory/approvers/cachey", json={"name": "Cachey"}, headers=service.admin)
    assert r.status_code == 200, r.text
    (third, fourth), sent = await _statements_of_loads(service, 2)
    assert third is not first
    assert fourth is third
    assert third.get("cachey") is not None
    assert first.get("cachey") is None
    assert sent == [people._VERSION_SQL, people._DIRECTORY_SQL, people._VERSION_SQL]

    async with read_connection(service.app.state.engine) as conn:
        await conn.execute("DELETE FROM approver WHERE id = 'cachey'")
    [fifth], _ = await _statements_of_loads(service, 1)
    assert fifth.get("cachey") is None


async def test_what_a_rolled_back_transaction_read_is_never_seen_by_anyone_else(service):
    before, _ = await _statements_of_loads(service, 1)
    async with read_connection(service.app.state.engine) as conn:
        transaction = conn.transaction()
        await transaction.start()
        await conn.execute("INSERT INTO approver (id, name, email) VALUES ('ghost', 'Ghost', 'ghost@example.com')")
        inside = await directory_on(conn)  # kept, under the version only this transaction ever saw
        assert inside.get("ghost") is not None
        await transaction.rollback()
    [after], _ = await _statements_of_loads(service, 1)
    assert after.get("ghost") is None
    assert after is before[0]
    r = await service.client.get("/directory/approvers/ghost", headers=service.admin)
    assert r.status_code == 404


async def test_without_its_version_row_the_directory_is_read_whole_every_time_and_kept_nowhere(service):
    async with read_connection(service.app.state.engine) as conn:
        await conn.execute("DELETE FROM directory_version")
    try:
        (first, second), sent = await _statements_of_loads(service, 2)
        assert second is not first
        assert second.get("carol") is not None
        assert sent == [people._VERSION_SQL, people._DIRECTORY_SQL, people._VERSION_SQL, people._DIRECTORY_SQL]
    finally:
        async with read_connection(service.app.state.engine) as conn:
            await conn.execute("INSERT INTO directory_version (id) VALUES (1)")
    (third, fourth), _ = await _statements_of_loads(service, 2)
    assert fourth is third
