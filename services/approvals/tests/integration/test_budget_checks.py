"""``budget.checked`` through the broker into the read model, and routing that waits for it
(real PostgreSQL and Kafka)."""

import asyncio
import copy

from approvals_testkit import OWNER, POLICY, budget_checked, snapshot, submitted
from sqlalchemy import select

from backoffice_approvals.models import approval_timer, budget_check, pending_route
from backoffice_approvals.service.chains import start_chain, withdraw_request

BUDGETED = {"category": "budgeted"}


async def rows(service, table, request_id):
    async with service.app.state.session_factory() as session:
        return (await session.execute(select(table).where(table.c.request_id == request_id))).all()


async def until(predicate, timeout=30.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while not await predicate():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.1)


def steps_of(assigned):
    return sorted((e.data["step"], e.data["assignee"]["id"]) for e in assigned)


async def test_a_check_read_before_the_submission_routes_an_over_budget_request_to_the_owner_and_the_cfo(service):
    snap = snapshot(**BUDGETED)
    await service.publish_budget(budget_checked(snap["request_id"], status="over_budget"))

    async def recorded():
        return len(await rows(service, budget_check, snap["request_id"])) == 1

    await until(recorded)
    [row] = await rows(service, budget_check, snap["request_id"])
    assert (row.status, row.over_by, row.currency, row.owner) == ("over_budget", "600.00", "EUR", OWNER)

    await service.publish(submitted(snap))
    assigned = await service.assigned(snap["request_id"], count=2)
    assert steps_of(assigned) == [("cfo", "carol"), ("cost_centre_owner", "olga")]
    chain = (await service.client.get(f"/requests/{snap['request_id']}/chain", headers=service.admin)).json()
    assert "budget check: over_budget by 600.00 EUR" in str(chain)


async def test_a_waiting_submission_is_routed_when_its_check_arrives_through_the_broker(service):
    snap = snapshot(**BUDGETED)
    waiting = service.settings.model_copy(update={"budget_check_wait_seconds": 60})
    async with service.app.state.uow_factory() as uow:
        outcome = await start_chain(uow=uow, snapshot=snap, settings=waiting, cause=submitted(snap))
        await uow.commit()
    assert outcome.startswith("waiting up to 60 s")
    [pending] = await rows(service, pending_route, snap["request_id"])
    assert pending.revision == 1

    await service.publish_budget(budget_checked(snap["request_id"], status="no_budget"))
    assigned = await service.assigned(snap["request_id"], count=2)
    # no_budget names no owner: that step falls to the fallback approver.
    assert steps_of(assigned) == [("cfo", "carol"), ("cost_centre_owner", service.settings.fallback_approver_id)]
    assert await rows(service, pending_route, snap["request_id"]) == []


async def budget_wait_timer(service, pending_id):
    async with service.app.state.session_factory() as session:
        query = select(approval_timer).where(
            approval_timer.c.kind == "budget_wait", approval_timer.c.ref_id == pending_id
        )
        return (await session.execute(query)).one()


async def wait_for_check(service, snap):
    waiting = service.settings.model_copy(update={"budget_check_wait_seconds": 60})
    async with service.app.state.uow_factory() as uow:
        outcome = await start_chain(uow=uow, snapshot=snap, settings=waiting, cause=submitted(snap))
        await uow.commit()
    assert outcome.startswith("waiting up to 60 s")
    [pending] = await rows(service, pending_route, snap["request_id"])
    assert (await budget_wait_timer(service, pending.id)).fired_at is None
    return pending


async def test_the_check_that_ends_a_wait_closes_its_budget_wait_timer(service):
    snap = snapshot(**BUDGETED)
    pending = await wait_for_check(service, snap)

    await service.publish_budget(budget_checked(snap["request_id"], status="no_budget"))
    await service.assigned(snap["request_id"], count=2)
    # closed with the wait: the timer job has nothing to fire for it when its time comes
    assert (await budget_wait_timer(service, pending.id)).fired_at is not None


async def test_a_cancellation_or_a_newer_revision_closes_the_budget_wait_timer_of_the_wait_it_ends(service):
    snap = snapshot(**BUDGETED)
    pending = await wait_for_check(service, snap)
    async with service.app.state.uow_factory() as uow:
        await withdraw_request(
            uow=uow, request_id=snap["request_id"], up_to_revision=1, reason="cancelled", cause=submitted(snap)
        )
        await uow.commit()
    assert await rows(service, pending_route, snap["request_id"]) == []
    assert (await budget_wait_timer(service, pending.id)).fired_at is not None

    revised = snapshot(**BUDGETED)
    first = await wait_for_check(service, revised)
    second = await wait_for_check(service, {**revised, "revision": 2})
    assert (await budget_wait_timer(service, first.id)).fired_at is not None
    assert (await budget_wait_timer(service, second.id)).fired_at is None


async def test_a_budget_wait_timer_the_timer_job_holds_is_skipped_not_waited_for(service):
    snap = snapshot(**BUDGETED)
    pending = await wait_for_check(service, snap)
    async with service.app.state.session_factory() as holder:
        # as the timer job's claim holds a timer that fell due (FOR UPDATE), until it commits
        query = select(approval_timer.c.id).where(approval_timer.c.ref_id == pending.id).with_for_update()
        await holder.execute(query)
        async with service.app.state.uow_factory() as uow:
            taken = await asyncio.wait_for(uow.pending.take(request_id=snap["request_id"], revision=1), timeout=5)
            await uow.commit()
        assert taken is not None
        assert taken.id == pending.id
        await holder.rollback()
    # left to the job, which then finds nothing waiting
    assert (await budget_wait_timer(service, pending.id)).fired_at is None


async def test_a_submission_whose_check_never_comes_is_routed_by_the_durable_timer(service):
    snap = snapshot(**BUDGETED)
    event = submitted(snap)
    short = service.settings.model_copy(update={"budget_check_wait_seconds": 0.5})
    async with service.app.state.uow_factory() as uow:
        await start_chain(uow=uow, snapshot=snap, settings=short, cause=event)
        await uow.commit()
    assigned = await service.assigned(snap["request_id"], count=2)
    assert steps_of(assigned) == [("cfo", "carol"), ("cost_centre_owner", service.settings.fallback_approver_id)]
    assert {e.causationid for e in assigned} == {event.id}
    assert await rows(service, pending_route, snap["request_id"]) == []


async def test_the_dry_run_shows_the_budget_condition(service):
    body = {"request": {"requester": {"id": "alice"}, "currency": "EUR", "total": "900", "category": "budgeted"}}
    over = {**body, "budget": {"status": "over_budget", "over_by": "100", "currency": "EUR", "owner": OWNER}}
    r = await service.client.post("/policies/dry-run", json=over, headers=service.admin)
    assert r.status_code == 200, r.text
    plan = r.json()
    assert [(s["name"], [a["assignee"]["id"] for a in s["approvers"]]) for s in plan["steps"]] == [
        ("cost_centre_owner", ["olga"]),
        ("cfo", ["carol"]),
    ]
    assert plan["notes"][0] == "budget check: over_budget by 100 EUR"

    within = {**body, "budget": {"status": "within_budget"}}
    plan = (await service.client.post("/policies/dry-run", json=within, headers=service.admin)).json()
    assert plan["steps"] == []
    assert any("budget status 'within_budget' is not one of" in n for n in plan["notes"])

    plan = (await service.client.post("/policies/dry-run", json=body, headers=service.admin)).json()
    assert plan["notes"][0] == "budget check: no_budget (not_checked)"

    bad = {**body, "budget": {"status": "overspent"}}
    r = await service.client.post("/policies/dry-run", json=bad, headers=service.admin)
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")


async def test_a_policy_with_a_bad_budget_condition_is_refused_where_it_is(service):
    bad = copy.deepcopy(POLICY)
    bad["steps"][4]["when"]["budget_statuses"] = ["over_budget", "sort_of"]
    r = await service.client.post("/policies", json=bad, headers=service.admin)
    assert r.status_code == 422
    assert r.json()["errors"][0]["location"].startswith("steps[4].when.budget_statuses")
