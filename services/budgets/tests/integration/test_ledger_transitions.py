"""Every transition of a request's money, driven by real events through the real broker and database."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import partial

import pytest
from budgets_testkit import FINANCE, Service, assert_problem, auth, snapshot, unique
from event_catalog_kit import validate
from sqlalchemy import select

from backoffice_budgets.consumers import cause_of, decode
from backoffice_budgets.domain.holds import RequestHold, Snapshot
from backoffice_budgets.models import ledger_movement, pending_event
from backoffice_budgets.repository.holds import HoldRepository
from backoffice_budgets.service import requests as use_cases
from backoffice_common.events import CloudEvent, new_event
from backoffice_common.testing import eventually


async def balances(service: Service, budget_id: str, **expected: str) -> dict[str, str]:
    async def reached() -> dict[str, str] | None:
        b = (await service.read(budget_id))["balances"]
        return b if all(b[k] == v for k, v in expected.items()) else None

    result: dict[str, str] = await eventually(reached, message=f"balances never reached {expected}")
    return result


async def test_submission_approval_receipt_and_close_move_the_money_and_name_their_causes(service: Service) -> None:
    cc, budget = await service.funded("1000.00")
    rid = unique("req")
    submitted = await service.submitted(rid, 1, "600.00", cost_center=cc)
    [check] = await service.check(rid)
    assert check.data["status"] == "within_budget"
    assert (check.data["amount"], check.data["available_before"], check.data["available_after"]) == (
        "600.00", "1000.00", "400.00"
    )  # fmt: skip
    assert check.causationid == submitted.id
    assert check.correlationid == submitted.correlationid
    [reserved] = await service.budgets.wait_for("budget.reserved", subject=rid)
    assert reserved.data["amount"] == "600.00"

    approved = await service.approved(rid, 1, "600.00", cost_center=cc)
    await service.budgets.wait_for("budget.committed", subject=rid)
    await balances(service, budget["id"], reserved="0.00", committed="600.00", available="400.00")

    receipt = await service.emit(
        "backoffice.requests", "purchase_request.receipt_confirmed", rid,
        request_id=rid, lines=[{"line_no": 1, "quantity_received": "1"}], fully_received=False, note="",
    )  # fmt: skip
    [spent] = await service.budgets.wait_for("budget.spent", subject=rid)
    assert spent.data["amount"] == "300.00"
    await balances(service, budget["id"], committed="300.00", spent="300.00")

    closed = await service.emit(
        "backoffice.requests", "purchase_request.closed", rid, request_id=rid, short_closed=True, reason="one broke"
    )
    [released] = await service.budgets.wait_for("budget.released", subject=rid)
    assert released.data["reason"] == "closed_short"
    assert released.data["committed_delta"] == "-300.00"
    await balances(service, budget["id"], reserved="0.00", committed="0.00", spent="300.00", available="700.00")

    for event in [check, reserved, spent, released, *service.budgets.of_type("budget.committed", subject=rid)]:
        validate("backoffice.budgets", event.model_dump(mode="json", exclude_none=True))
    ledger = await service.ledger(budget["id"], request_id=rid)
    assert [(m["kind"], m["caused_by"]["event_id"]) for m in ledger] == [
        ("reserved", submitted.id), ("committed", approved.id), ("spent", receipt.id), ("released", closed.id)
    ]  # fmt: skip


async def test_two_concurrent_submissions_for_the_last_money_cannot_both_be_within_budget(service: Service) -> None:
    cc, budget = await service.funded("1000.00")
    a, b = unique("req"), unique("req")

    async def submit(rid: str) -> str:
        event = new_event(
            type="purchase_request.submitted", service="requests", subject=rid,
            data={"request": {"request_id": rid, "revision": 1, "cost_center": cc, "currency": "EUR", "total": "600.00",
                              "lines": [{"line_no": 1, "unit_price": "600.00"}]}},
        )  # fmt: skip
        snap = Snapshot(rid, 1, cc, "EUR", Decimal("600.00"), {1: Decimal("600.00")})
        async with service.app.state.uow_factory() as uow:
            outcome = await use_cases.submitted(
                uow=uow, snapshot=snap, cause=cause_of(event), submitted_on=datetime.now(UTC).date(), fx_max_age_days=7
            )
            await uow.commit()  # a use case applies in the caller's transaction (service.requests.handle commits)
            return outcome

    outcomes = await asyncio.gather(submit(a), submit(b))
    assert outcomes == ["checked revision 1", "checked revision 1"]
    checks = [(await service.check(rid))[0].data for rid in (a, b)]
    assert sorted(c["status"] for c in checks) == ["over_budget", "within_budget"]
    over = next(c for c in checks if c["status"] == "over_budget")
    assert (over["available_before"], over["over_by"]) == ("400.00", "200.00")
    await balances(service, budget["id"], reserved="1200.00", available="-200.00")


async def test_two_submissions_racing_through_the_broker_are_checked_one_after_the_other(service: Service) -> None:
    cc, budget = await service.funded("1000.00")
    rids = [unique("req") for _ in range(4)]
    await asyncio.gather(*(service.submitted(rid, 1, "400.00", cost_center=cc) for rid in rids))
    statuses = sorted([(await service.check(rid))[0].data["status"] for rid in rids])
    assert statuses == ["over_budget", "over_budget", "within_budget", "within_budget"]
    await balances(service, budget["id"], reserved="1600.00")


async def test_a_revision_raising_and_then_one_lowering_the_total(service: Service) -> None:
    cc, budget = await service.funded("1000.00")
    rid = unique("req")
    await service.submitted(rid, 1, "500.00", cost_center=cc)
    await service.check(rid)
    await service.submitted(rid, 2, "1100.00", cost_center=cc)
    second = (await service.check(rid, 2))[1].data
    assert (second["status"], second["available_before"], second["over_by"]) == ("over_budget", "1000.00", "100.00")
    await balances(service, budget["id"], reserved="1100.00")
    await service.submitted(rid, 3, "200.00", cost_center=cc)
    third = (await service.check(rid, 3))[2].data
    assert third["status"] == "within_budget"
    await balances(service, budget["id"], reserved="200.00", available="800.00")
    kinds = [(m["kind"], m["reserved_delta"], m["reason"]) for m in await service.ledger(budget["id"], request_id=rid)]
    assert kinds == [
        ("reserved", "500.00", "submitted"), ("reserved", "600.00", "submitted"), ("released", "-900.00", "revision_lowered")
    ]  # fmt: skip


async def test_a_cancellation_after_approval_gives_the_commitment_back(service: Service) -> None:
    cc, budget = await service.funded("1000.00")
    rid = unique("req")
    await service.submitted(rid, 1, "700.00", cost_center=cc)
    await service.check(rid)
    await service.approved(rid, 1, "700.00", cost_center=cc)
    await balances(service, budget["id"], committed="700.00")
    await service.emit(
        "backoffice.requests", "purchase_request.cancelled", rid,
        request_id=rid, revision=1, reason="no longer needed", previous_status="approved", vendor_id="vendor-acme",
    )  # fmt: skip
    [released] = await service.budgets.wait_for("budget.released", subject=rid)
    assert (released.data["reason"], released.data["committed_delta"]) == ("cancelled", "-700.00")
    await balances(service, budget["id"], committed="0.00", available="1000.00")


async def test_a_rejection_releases_the_reservation(service: Service) -> None:
    cc, budget = await service.funded("1000.00")
    rid = unique("req")
    await service.submitted(rid, 1, "300.00", cost_center=cc)
    await service.check(rid)
    await service.emit(
        "backoffice.approvals", "purchase_request.rejected", rid,
        request_id=rid, revision=1, comment="no", decided_by={"id": "bob"}, requester={"id": "alice"},
    )  # fmt: skip
    await service.budgets.wait_for("budget.released", subject=rid)
    await balances(service, budget["id"], reserved="0.00", available="1000.00")


async def test_an_unknown_cost_centre_is_checked_as_no_budget(service: Service) -> None:
    rid = unique("req")
    await service.submitted(rid, 1, "300.00", cost_center=unique("CC-NOPE"))
    [check] = await service.check(rid)
    assert (check.data["status"], check.data["reason"], check.data["budget_id"]) == (
        "no_budget", "unknown_cost_centre", None
    )  # fmt: skip
    r = await service.client.get(f"/requests/{rid}/checks", headers=FINANCE)
    assert [c["status"] for c in r.json()] == ["no_budget"]


async def test_a_known_cost_centre_without_a_budget_for_the_period_is_no_budget(service: Service) -> None:
    cc = unique("CC")
    await service.cost_centre(cc)
    rid = unique("req")
    await service.submitted(rid, 1, "300.00", cost_center=cc)
    [check] = await service.check(rid)
    assert (check.data["status"], check.data["reason"]) == ("no_budget", "no_budget_for_period")


async def test_a_redelivered_submission_reserves_once(service: Service) -> None:
    cc, budget = await service.funded("1000.00")
    rid = unique("req")
    event = await service.submitted(rid, 1, "100.00", cost_center=cc)
    await service.check(rid)
    from backoffice_common.testing import publish_events

    await publish_events(service.bootstrap, service.prefix + "backoffice.requests", [event])
    other = unique("req")
    await service.submitted(other, 1, "1.00", cost_center=cc)
    await service.check(other)
    await balances(service, budget["id"], reserved="101.00")
    assert len(service.budgets.of_type("budget.checked", subject=rid)) == 1
    async with service.app.state.session_factory() as session:
        rows = (await session.execute(select(ledger_movement.c.id).where(ledger_movement.c.request_id == rid))).all()
    assert len(rows) == 1


async def test_the_owner_threshold_events_fire_at_80_and_100_percent(service: Service) -> None:
    cc, budget = await service.funded("100.00")
    await service.submitted(unique("req"), 1, "85.00", cost_center=cc)
    [eighty] = await service.budgets.wait_for("budget.threshold_crossed", subject=budget["id"])
    assert eighty.data["threshold_percent"] == 80
    assert eighty.data["owner"]["email"] == "olga@example.com"
    await service.submitted(unique("req"), 1, "15.00", cost_center=cc)
    crossed = await service.budgets.wait_for("budget.threshold_crossed", subject=budget["id"], count=2)
    assert [e.data["threshold_percent"] for e in crossed] == [80, 100]
    for event in crossed:
        validate("backoffice.budgets", event.model_dump(mode="json", exclude_none=True))


async def test_a_held_back_approval_is_kept_once_applied_once_after_its_submission(service: Service) -> None:
    """Behind the inbox, too: the same early approval handled twice is stored once, applied once."""
    cc, budget = await service.funded("1000.00")
    rid = unique("req")
    approval = new_event(
        type="purchase_request.approved", service="approvals", subject=rid,
        data={"schema_version": 1, "request": snapshot(rid, 1, "100.00", cost_center=cc), "chain_id": "c", "approvers": []},
    )  # fmt: skip

    async def handle() -> str:
        async with service.app.state.uow_factory() as uow:
            return await use_cases.handle(uow=uow, event=approval, decode=partial(decode, fx_max_age_days=7))

    assert await handle() == "held back: waiting for the submission of revision 1"
    assert await handle() == "ignored: held back already"
    async with service.app.state.session_factory() as session:
        rows = (await session.execute(select(pending_event).where(pending_event.c.request_id == rid))).all()
    assert [(r.event_id, r.revision, r.waiting_for) for r in rows] == [
        (approval.id, 1, "the submission of revision 1")
    ]  # fmt: skip
    listed = await service.client.get("/held-back-events", params={"request_id": rid}, headers=FINANCE)
    assert listed.status_code == 200, listed.text
    assert [(i["event_id"], i["event_type"], i["revision"]) for i in listed.json()["items"]] == [
        (approval.id, "purchase_request.approved", 1)
    ]  # fmt: skip
    assert (await service.client.get("/held-back-events", headers=auth("bob", "approver"))).status_code == 403
    assert_problem(await service.client.get("/held-back-events", params={"cursor": "bm9wZQ"}, headers=FINANCE), 422)

    submitted = await service.submitted(rid, 1, "100.00", cost_center=cc)
    await service.budgets.wait_for("budget.committed", subject=rid)
    assert (await handle()).startswith("ignored: this event was handled already")
    ledger = await service.ledger(budget["id"], request_id=rid)
    assert [(m["kind"], m["caused_by"]["event_id"]) for m in ledger] == [
        ("reserved", submitted.id), ("committed", approval.id)
    ]  # fmt: skip
    await balances(service, budget["id"], reserved="0.00", committed="100.00", available="900.00")
    after = await service.client.get("/held-back-events", params={"request_id": rid}, headers=FINANCE)
    assert after.json() == {"items": [], "next_cursor": None}


async def test_an_event_locks_and_reads_its_hold_once_and_each_drained_event_once_more(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hold read to order an event is the one its rule applies to: no second ``SELECT ... FOR UPDATE``."""
    cc, budget = await service.funded("1000.00")
    rid = unique("req")
    locks: list[str] = []
    original = HoldRepository.lock

    async def counting(self: HoldRepository, request_id: str, *, period_date: date) -> RequestHold:
        if request_id == rid:
            locks.append(request_id)
        return await original(self, request_id, period_date=period_date)

    monkeypatch.setattr(HoldRepository, "lock", counting)
    request = snapshot(rid, 1, "100.00", cost_center=cc)
    approval = new_event(
        type="purchase_request.approved", service="approvals", subject=rid,
        data={"schema_version": 1, "request": request, "chain_id": "c", "approvers": []},
    )  # fmt: skip
    submission = new_event(
        type="purchase_request.submitted", service="requests", subject=rid,
        data={"schema_version": 1, "request": request, "submitted_at": datetime.now(UTC).isoformat()},
    )  # fmt: skip

    async def handle(event: CloudEvent) -> str:
        async with service.app.state.uow_factory() as uow:
            return await use_cases.handle(uow=uow, event=event, decode=partial(decode, fx_max_age_days=7))

    assert (await handle(approval)).startswith("held back")
    assert len(locks) == 1
    assert (await handle(submission)).endswith("then 1 held-back event(s) applied")
    assert len(locks) == 3  # the submission's one, then one for the drained approval (each read twice before)
    ledger = await service.ledger(budget["id"], request_id=rid)
    assert [(m["kind"], m["caused_by"]["event_id"]) for m in ledger] == [
        ("reserved", submission.id), ("committed", approval.id)
    ]  # fmt: skip
    await balances(service, budget["id"], reserved="0.00", committed="100.00", available="900.00")
