"""Budgets across the services as real processes: finance sets up a cost centre and a budget, an
over-budget order gets the cost centre's owner as an extra approver, and a cancelled order gives its
money back."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from platform_kit import Platform as PlatformProcesses

from backoffice_cli.client import Cast, Person, Platform


def finance_person(tag: str) -> Person:
    return Person(f"finance-{tag}", f"Fiona Finance ({tag})", f"finance-{tag}@example.com", ("finance",))


async def test_an_over_budget_order_needs_the_owner_and_a_cancelled_order_releases_its_money(
    client: Platform, cast: Cast, platform: PlatformProcesses
) -> None:
    budgets = platform.url("budgets")
    tag = uuid.uuid4().hex[:6]
    finance = finance_person(tag)
    owner = cast.deputy
    cost_center = f"CC-{tag}"
    await client.call(
        "POST",
        f"{budgets}/cost-centres",
        finance,
        json={
            "id": cost_center,
            "name": f"Team {tag}",
            "owner": {"id": owner.id, "name": owner.name, "email": owner.email},
            "department": cast.department,
        },
        expect=201,
    )
    today = date.today()
    r = await client.call(
        "POST",
        f"{budgets}/budgets",
        finance,
        json={"cost_center": cost_center, "period": f"{today:%Y-%m}", "currency": "EUR", "amount": "1000.00"},
        expect=201,
    )
    budget_id = r.json()["id"]

    vendor = await client.create_vendor(cast)
    body = {**client.draft(vendor, cast, quantity=1), "cost_center": cost_center}  # 1,949.50 EUR
    draft = await client.create_draft(cast, body)
    request_id = draft["id"]
    await client.submit(cast, request_id)

    async def checked() -> list[dict[str, Any]] | None:
        found = await client.call("GET", f"{budgets}/requests/{request_id}/checks", finance)
        return found.json() or None

    [check] = await client.eventually("the budget check", checked)
    assert (check["status"], check["over_by"], check["budget_id"]) == ("over_budget", "949.50", budget_id)

    async def owner_told() -> list[dict[str, Any]] | None:
        mails = [m for m in await client.mail_to(owner.email) if cost_center in str(m["subject"])]
        return mails if len(mails) >= 2 else None

    told = await client.eventually("the owner is told of 80 % and 100 %", owner_told)
    assert {"passed 80 %" in str(m["subject"]) or "passed 100 %" in str(m["subject"]) for m in told} == {True}
    assert any("passed 100 %" in str(m["subject"]) for m in told)

    async def step_of(who: Person, task: dict[str, Any]) -> str:
        detail = await client.call("GET", f"{client.endpoints.approvals}/tasks/{task['id']}", who)
        return str(detail.json()["step"])

    manager_task = await client.task_for(cast.manager, request_id)
    assert await step_of(cast.manager, manager_task) == "manager"
    await client.decide(cast.manager, manager_task["id"], "approved")
    owner_task = await client.task_for(owner, request_id)
    assert await step_of(owner, owner_task) == "cost_centre_owner"
    await client.decide(owner, owner_task["id"], "approved")
    await client.wait_status(cast.requester, request_id, "vendor_notified")

    async def balances(**expected: str) -> dict[str, Any] | None:
        got = (await client.call("GET", f"{budgets}/budgets/{budget_id}", finance)).json()["balances"]
        return got if all(got[k] == v for k, v in expected.items()) else None

    await client.eventually("the money committed", lambda: balances(committed="1949.50", reserved="0.00"))

    await client.call(
        "POST",
        f"{client.endpoints.requests}/requests/{request_id}/cancel",
        cast.requester,
        json={"reason": "the team was not hired"},
    )
    await client.wait_status(cast.requester, request_id, "cancelled")
    final = await client.eventually(
        "the money released", lambda: balances(committed="0.00", reserved="0.00", available="1000.00")
    )
    assert final["spent"] == "0.00"
    ledger = (await client.call("GET", f"{budgets}/budgets/{budget_id}/ledger", finance)).json()["items"]
    assert [(m["kind"], m["request_id"]) for m in ledger] == [
        ("allocated", None),
        ("reserved", request_id),
        ("committed", request_id),
        ("released", request_id),
    ]
