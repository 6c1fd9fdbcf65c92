"""Consumed events in fewer statements: an event that only writes the timeline (``facts.record_entry``: the row
lock, the approvers and buyer's signers it names, the entry, in ONE statement), and an applied fact's entry with the
request's deferred facts read in the same statement (``TimelineRepository.add_reading_deferred``). Both against the
statements of before: ``record_report``'s timeline-only path and ``DeferredEventRepository.of_request``."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

import pytest
from requests_testkit import Service, unique_user

from backoffice_common.db import driver_connection
from backoffice_common.events import CloudEvent, new_event, parse_payload
from backoffice_requests import consumers
from backoffice_requests.domain.facts import TIMELINE_ONLY
from backoffice_requests.domain.lifecycle import Action
from backoffice_requests.domain.model import Actor
from backoffice_requests.repository.facts import _DEFERRED_SQL
from backoffice_requests.repository.requests import _UPDATE_SQL
from backoffice_requests.repository.timeline import _ADD_SAVING_READING_DEFERRED_SQL, _RECORD_UNDER_LOCK_SQL
from backoffice_requests.service.facts import Report, record_entry, record_report

ACTOR = Actor(id="editor", name="Editor", role="requester")
MISSING = "00000000-0000-4000-8000-000000000000"

# Timeline-only events as a flow's consumer reads them (the payloads name approvers and a buyer's signer), and one
# with NUL characters where PostgreSQL cannot store them and overlong ids.
PAYLOADS: list[tuple[str, dict[str, Any]]] = [
    (
        "approval.task_assigned",
        {
            "task_id": "t1",
            "step": 1,
            "assignee": {"id": "bob", "name": "Bob"},
            "on_behalf_of": {"id": "carol", "name": "Carol"},
        },
    ),
    ("approval.task_assigned", {"task_id": "t2", "step": 2, "assignee": {"id": "bob", "name": "Bob"}}),
    (
        "approval.escalated",
        {"task_id": "t2", "new_task_id": "t3", "to": {"id": "dave\x00x", "name": "Dave"}, "reason": "late"},
    ),
    ("approval.task_assigned", {"task_id": "t4", "assignee": {"id": "e" * 250}, "on_behalf_of": {"id": "e" * 250}}),
    (  # two ids the same once cut to 200 characters
        "approval.escalated",
        {"task_id": "t5", "to": {"id": "h" * 200 + "1"}, "assignee": {"id": "h" * 200 + "2"}},
    ),
    ("approval.task_decided", {"task_id": "t1", "decision": "approve", "comment": "fine\x00 by me"}),
    ("contract.signed", {"party": "buyer", "signer": {"id": "frank", "name": "Frank"}, "note": "n\x00"}),
    ("contract.signed", {"party": "vendor", "signer": {"id": "vera"}}),
    ("vendor.contract_signed", {"vendor_id": "v1", "actor": {"id": "v1", "name": "Vendor\x00"}}),
    ("notification.failed", {"error": "x" * 3000}),
    ("approval.reminder_due", {}),
]


def _event(rid: str, type_: str, data: dict[str, Any], when: CloudEvent | None = None) -> CloudEvent:
    event = new_event(type=type_, service=type_.split(".")[0], subject=rid, data={"request_id": rid, **data})
    return event if when is None else event.model_copy(update={"time": when.time})


async def _rows(service: Service, rid: str) -> dict[str, list[tuple[Any, ...]]]:
    """Everything a consumed event may write about ``rid``, without the ids that differ by nature."""
    async with service.app.state.uow_factory() as uow:
        conn = await driver_connection(uow.session)
        entries = await conn.fetch(
            "SELECT event_type, source, actor, outcome, note, status_after, data - 'request_id', occurred_at"
            " FROM timeline_entry WHERE request_id = $1::uuid AND source <> 'backoffice/requests' ORDER BY occurred_at, id",
            rid,
        )
        approvers = await conn.fetch(
            "SELECT a.user_id, a.task_id, a.request_created_at = p.created_at FROM approver_assignment a"
            " JOIN purchase_request p ON p.id = a.request_id WHERE a.request_id = $1::uuid ORDER BY a.user_id",
            rid,
        )
        signers = await conn.fetch("SELECT user_id FROM buyer_signer WHERE request_id = $1::uuid ORDER BY 1", rid)
        await uow.rollback()
    return {
        "entries": [tuple(r) for r in entries],
        "approvers": [tuple(r) for r in approvers],
        "signers": [tuple(r) for r in signers],
    }


async def test_an_event_that_only_writes_the_timeline_is_one_statement_with_the_rows_of_before(
    service: Service,
) -> None:
    """The consumer's handler sends ONE statement for a timeline-only event, and writes what ``record_report`` (the
    lock, each ``remember``, the entry) writes: the same entries, approvers (the first task of each, the request's
    creation time), buyer's signers, NUL removed and lengths cut the same way; an unknown request: the same outcome
    and nothing written."""
    alice = unique_user("alice")
    old_rid, new_rid = (await service.submitted(alice))["id"], (await service.submitted(alice))["id"]
    factory = service.app.state.uow_factory
    for type_, data in PAYLOADS:
        assert type_ in TIMELINE_ONLY
        old = _event(old_rid, type_, data)
        new = _event(new_rid, type_, data, when=old)
        async with factory() as uow:
            assert await record_report(uow=uow, report=_report(old)) is None
            await uow.commit()
        async with factory() as uow:
            sent = await _statements(uow, consumers.on_lifecycle_event(new, uow), None)
            assert sent == [_RECORD_UNDER_LOCK_SQL], sent
            await uow.commit()
    old_rows, new_rows = await _rows(service, old_rid), await _rows(service, new_rid)
    assert len(old_rows["entries"]) == len(PAYLOADS)  # the consumed ones (the request's own differ by their ids)
    assert [r[0] for r in old_rows["approvers"]] == ["bob", "carol", "davex", "e" * 200, "h" * 200]
    assert old_rows["signers"] == [("frank",)]
    assert new_rows == old_rows

    unknown = _event(MISSING, "approval.task_assigned", PAYLOADS[0][1])
    async with factory() as uow:
        outcome = await consumers.on_lifecycle_event(unknown, uow)
        assert outcome == await record_report(uow=uow, report=_report(unknown)) == f"ignored: unknown request {MISSING}"
        await uow.commit()
    async with factory() as uow:
        conn = await driver_connection(uow.session)
        for table in ("timeline_entry", "approver_assignment", "buyer_signer"):
            assert await conn.fetchval(f"SELECT count(*) FROM {table} WHERE request_id = $1::uuid", MISSING) == 0  # noqa: S608
        await uow.rollback()


async def _statements(uow: Any, handling: Awaitable[str | None], outcome: str | None) -> list[str]:
    """The statements ``handling`` sends on ``uow``'s connection; it must answer ``outcome``."""
    sent: list[str] = []
    conn = await driver_connection(uow.session)
    with conn.query_logger(lambda record: sent.append(record.query)):
        assert await handling == outcome
    await asyncio.sleep(0)  # asyncpg hands the records to the logger with call_soon
    return sent


def _report(event: CloudEvent) -> Report:
    payload = parse_payload(consumers.LifecyclePayload, event)
    return Report(
        event=event,
        request_id=consumers._request_id(event, payload),
        actor=consumers._actor(event, payload),
        note=consumers._note(event),
        approvers=consumers._approvers(event, payload),
        buyer_signers=consumers._buyer_signers(event),
        task_id=str(payload.new_task_id or payload.task_id or event.id)[:200],
    )


async def test_a_timeline_only_event_in_one_statement_waits_for_the_lock_and_records_the_status_left(
    service: Service,
) -> None:
    """A writer that applied a fact holds the row's lock: the one statement waits for it and records the status that
    writer left (``approved``), with the approver it names."""
    alice = unique_user("alice")
    rid = (await service.submitted(alice))["id"]
    factory = service.app.state.uow_factory
    event = _event(rid, "approval.task_assigned", {"task_id": "t9", "assignee": {"id": "gina"}})
    started = asyncio.Event()

    async def recorded_after_the_fact() -> str | None:
        async with factory() as uow:
            started.set()
            outcome = await record_entry(uow=uow, report=_report(event))  # waits for the first writer's lock
            await uow.commit()
            return outcome

    async with factory() as first:
        request = await first.requests.get(rid, for_update=True)
        assert request is not None
        request.apply(Action.APPROVE, revision=1)
        await first.requests.save(request, actor=ACTOR)
        waiting = asyncio.create_task(recorded_after_the_fact())
        await started.wait()
        await asyncio.sleep(0.3)  # the timeline-only writer is waiting for the lock
        assert not waiting.done()
        await first.commit()
    assert await waiting is None
    async with factory() as uow:
        entries = {e["event_id"]: e for e in await uow.timeline.entries(request_id=rid)}
        assert await uow.approvers.is_assigned(request_id=rid, user_id="gina")
    assert entries[event.id]["status_after"] == "approved"
    assert entries[event.id]["outcome"] == "recorded"


async def test_record_entry_refuses_a_fact(service: Service) -> None:
    """A fact must be applied (``record_report``): ``record_entry`` does not write it as a mere entry."""
    alice = unique_user("alice")
    rid = (await service.submitted(alice))["id"]
    event = _event(rid, "purchase_request.approved", {"request": {"request_id": rid, "revision": 1}})
    async with service.app.state.uow_factory() as uow:
        with pytest.raises(ValueError, match="record_report"):
            await record_entry(uow=uow, report=_report(event))


async def test_an_applied_fact_reads_the_deferred_facts_with_its_entry(service: Service) -> None:
    """An applied fact's entry, the request's row and its deferred facts are one statement (no separate read of
    ``deferred_event`` nor ``UPDATE`` when none was applied), and a fact deferred before is still applied after it, in order: the
    notification that arrived before the approval, then the contract's generation that arrived before both."""
    alice = unique_user("alice")
    rid = (await service.submitted(alice))["id"]
    vendor = await _vendor_of(service, rid)
    factory = service.app.state.uow_factory
    approved = _event(rid, "purchase_request.approved", {"request": {"request_id": rid, "revision": 1}})
    notified = _event(rid, "vendor.notified", {"revision": 1, "vendor_id": vendor, "channel": "email"})
    generated = _event(rid, "contract.generated", {"revision": 1, "vendor_id": vendor, "contract_id": "k1"})
    accepted = _event(rid, "vendor.accepted", {"request": {"request_id": rid, "revision": 1, "vendor_id": vendor}})
    for early in (generated, notified):
        async with factory() as uow:
            assert (await consumers.on_lifecycle_event(early, uow) or "").startswith("deferred")
            await uow.commit()

    async def consumed(event: CloudEvent) -> list[str]:
        async with factory() as uow:
            sent = await _statements(uow, consumers.on_lifecycle_event(event, uow), "applied")
            await uow.commit()
        return sent

    sent = await consumed(approved)  # applies the notification (deferred), then reads again: the generation waits
    assert sent.count(_ADD_SAVING_READING_DEFERRED_SQL) == 1, sent
    assert sent.count(_DEFERRED_SQL) == 1, sent
    assert sent.count(_UPDATE_SQL) == 1, sent  # saved again after the deferred fact
    sent = await consumed(accepted)  # applies the generation; nothing left
    assert sent.count(_ADD_SAVING_READING_DEFERRED_SQL) == 1, sent
    assert sent.count(_DEFERRED_SQL) == 1, sent
    assert sent.count(_UPDATE_SQL) == 1, sent
    async with factory() as uow:
        assert await uow.deferred.of_request(rid) == []
        request = await uow.requests.get(rid)
        assert request is not None
        assert request.status.value == "contract_pending"
        entries = {e["event_id"]: e for e in await uow.timeline.entries(request_id=rid)}
    assert [entries[e.id]["outcome"] for e in (generated, notified, approved, accepted)] == ["applied"] * 4

    again = _event(rid, "contract.executed", {"contract_id": "k1"})
    sent = await consumed(again)  # nothing deferred: the one statement (entry, row, deferred), nothing else
    assert sent.count(_ADD_SAVING_READING_DEFERRED_SQL) == 1, sent
    assert _DEFERRED_SQL not in sent, sent
    assert _UPDATE_SQL not in sent, sent


async def _vendor_of(service: Service, rid: str) -> str:
    async with service.app.state.uow_factory() as uow:
        vendor: str = await (await driver_connection(uow.session)).fetchval(
            "SELECT vendor_id FROM purchase_request WHERE id = $1::uuid", rid
        )
        await uow.rollback()
    return vendor


async def test_an_applied_fact_saved_with_its_entry_writes_the_row_a_save_wrote(service: Service) -> None:
    """The row the one statement writes is the row ``save`` wrote after the entry (two requests in the same state,
    the same facts; the old way forced by ``plain_update`` answering None): every column but the ids, number and
    times, and the same entries."""
    alice = unique_user("alice")
    old_rid, new_rid = (await service.submitted(alice))["id"], (await service.submitted(alice))["id"]
    vendor = await _vendor_of(service, old_rid)
    factory = service.app.state.uow_factory
    steps: list[tuple[str, dict[str, Any]]] = [
        ("purchase_request.approved", {"request": {"revision": 1}}),
        ("vendor.notified", {"revision": 1, "vendor_id": vendor, "channel": "email"}),
        ("vendor.accepted", {"request": {"revision": 1, "vendor_id": vendor}, "vendor": {"vendor_id": vendor}}),
    ]
    for type_, data in steps:
        old = _event(old_rid, type_, data)
        new = _event(new_rid, type_, data, when=old)
        async with factory() as uow:
            uow.requests.plain_update = lambda _request: None  # type: ignore[method-assign]
            assert await record_report(uow=uow, report=_report(old)) == "applied"
            await uow.commit()
        async with factory() as uow:
            assert await consumers.on_lifecycle_event(new, uow) == "applied"
            await uow.commit()
    async with factory() as uow:
        conn = await driver_connection(uow.session)
        rows = {
            rid: dict(
                await conn.fetchrow(
                    "SELECT requester_id, status, revision, version, title, vendor_id, department, currency, total,"
                    " received, updated_at > created_at AS touched FROM purchase_request WHERE id = $1::uuid",
                    rid,
                )
            )
            for rid in (old_rid, new_rid)
        }
        await uow.rollback()
    assert rows[old_rid]["status"] == "vendor_accepted"
    assert rows[old_rid] == rows[new_rid]
    old_rows, new_rows = await _rows(service, old_rid), await _rows(service, new_rid)
    assert len(new_rows["entries"]) == len(steps)
    assert old_rows == new_rows
