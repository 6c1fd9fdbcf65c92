"""``RequestRepository.get``: the row and its revision's content in one statement, and the content a writer
committed while this one waited for the row's lock (PostgreSQL re-checks the locked row's newest version
against the rest of the statement as of its older snapshot: the content is then read again)."""

from __future__ import annotations

import asyncio
from datetime import date

from requests_testkit import Service, unique_user
from sqlalchemy import text

from backoffice_common.db import driver_connection
from backoffice_common.events import new_event
from backoffice_requests.domain.lifecycle import Action
from backoffice_requests.domain.model import Actor, PurchaseRequest
from backoffice_requests.repository.requests import _CONTENT_SQL, _GET_FOR_UPDATE_SQL, _STATUS_FOR_UPDATE_SQL
from backoffice_requests.repository.serialization import content_to_json
from backoffice_requests.service.facts import Report, record_report

ACTOR = Actor(id="editor", name="Editor", role="requester")


async def _locked_in_another_transaction(service: Service, rid: str, started: asyncio.Event) -> PurchaseRequest:
    async with service.app.state.uow_factory() as uow:
        started.set()
        request = await uow.requests.get(rid, for_update=True)  # waits for the first writer's lock
        assert request is not None
        await uow.rollback()
        return request


async def test_a_writer_that_waited_for_the_lock_reads_a_draft_edited_meanwhile(service: Service) -> None:
    rid = (await service.create(unique_user("alice")))["id"]
    factory = service.app.state.uow_factory
    async with factory() as first:
        request = await first.requests.get(rid, for_update=True)
        assert request is not None
        request.update_draft({"title": "Edited while you waited"}, today=date.today(), actor=ACTOR)
        await first.requests.save(request, actor=ACTOR)  # the revision's content changed in place
        started = asyncio.Event()
        waiting = asyncio.create_task(_locked_in_another_transaction(service, rid, started))
        await started.wait()
        await asyncio.sleep(0.3)  # the second writer's statement is waiting for the lock
        assert not waiting.done()
        await first.commit()
    second = await waiting
    assert (second.version, second.revision) == (request.version, 1)
    assert second.content.title == "Edited while you waited"


async def test_a_writer_that_waited_for_the_lock_reads_a_revision_added_meanwhile(service: Service) -> None:
    alice = unique_user("alice")
    rid = (await service.submitted(alice))["id"]
    factory = service.app.state.uow_factory
    async with factory() as uow:  # changes requested, as approvals would report it
        await uow.session.execute(
            text("UPDATE purchase_request SET status = 'changes_requested' WHERE id = :id"), {"id": rid}
        )
        await uow.commit()
    async with factory() as first:
        request = await first.requests.get(rid, for_update=True)
        assert request is not None
        request.revise({"title": "The second revision"}, today=date.today(), actor=ACTOR, submitted_at="2026-01-01")
        await first.requests.save(request, actor=ACTOR)  # a new revision row, the request's row moved to it
        started = asyncio.Event()
        waiting = asyncio.create_task(_locked_in_another_transaction(service, rid, started))
        await started.wait()
        await asyncio.sleep(0.3)
        assert not waiting.done()
        await first.commit()
    second = await waiting
    assert second.revision == 2
    assert second.content.title == "The second revision"


async def test_the_unlocked_and_locked_reads_are_one_statement_and_answer_as_the_two_did(service: Service) -> None:
    rid = (await service.create(unique_user("alice")))["id"]
    sent: list[str] = []
    async with service.app.state.uow_factory() as uow:
        conn = await driver_connection(uow.session)
        row = await conn.fetchrow(_GET_FOR_UPDATE_SQL, rid)  # the two statements of before, as the reference
        content = await conn.fetchval(_CONTENT_SQL, rid, row["revision"])
        with conn.query_logger(lambda record: sent.append(record.query)):
            plain = await uow.requests.get(rid)
            locked = await uow.requests.get(rid, for_update=True)
            missing = await uow.requests.get("00000000-0000-4000-8000-000000000000", for_update=True)
        await uow.rollback()
    assert len(sent) == 3, sent  # one statement each
    assert plain is not None
    assert locked is not None
    assert missing is None
    assert plain.snapshot() == locked.snapshot()
    assert (locked.id, locked.number, locked.status.value, locked.revision, locked.version) == (
        row["id"],
        row["number"],
        row["status"],
        row["revision"],
        row["version"],
    )
    assert content_to_json(locked.content) == content


def _timeline_only(rid: str, type_: str = "approval.task_decided") -> Report:
    event = new_event(type=type_, service="approvals", subject=rid, data={"task_id": "t1", "request_id": rid})
    return Report(event=event, request_id=rid, actor={"id": "bob", "name": "Bob", "role": "approver"})


async def test_an_event_that_only_writes_the_timeline_locks_the_row_and_reads_its_status_alone(
    service: Service,
) -> None:
    """``record_report`` of a timeline-only event (``approval.task_decided``, ``contract.signed``, ...) reads the
    request's status under the row lock in one statement (``status_for_update``: no revision content, no
    aggregate); a writer that applied a fact meanwhile is waited for, and the entry records the status it left."""
    alice = unique_user("alice")
    rid = (await service.submitted(alice))["id"]
    factory = service.app.state.uow_factory
    sent: list[str] = []
    async with factory() as uow:
        conn = await driver_connection(uow.session)
        with conn.query_logger(lambda record: sent.append(record.query)):
            assert await record_report(uow=uow, report=_timeline_only(rid)) is None
            missing = "00000000-0000-4000-8000-000000000000"
            assert await record_report(uow=uow, report=_timeline_only(missing)) == f"ignored: unknown request {missing}"
        await uow.commit()
    assert sent[0] == sent[2] == _STATUS_FOR_UPDATE_SQL, sent
    assert len(sent) == 3, sent  # the lock and status, the timeline's entry; the unknown request's lock alone
    assert not any("request_revision" in statement for statement in sent)

    async def recorded_after_the_fact() -> None:
        async with factory() as uow:
            started.set()
            await record_report(uow=uow, report=report)  # waits for the first writer's lock
            await uow.commit()

    report = _timeline_only(rid, "contract.signed")
    async with factory() as first:
        request = await first.requests.get(rid, for_update=True)
        assert request is not None
        request.apply(Action.APPROVE, revision=1)
        await first.requests.save(request, actor=ACTOR)
        started = asyncio.Event()
        waiting = asyncio.create_task(recorded_after_the_fact())
        await started.wait()
        await asyncio.sleep(0.3)  # the timeline-only writer is waiting for the lock
        assert not waiting.done()
        await first.commit()
    await waiting
    async with factory() as uow:
        entries = {e["event_id"]: e for e in await uow.timeline.entries(request_id=rid)}
    assert entries[report.event.id]["status_after"] == "approved"
    assert entries[report.event.id]["outcome"] == "recorded"
