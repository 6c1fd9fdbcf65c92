from datetime import UTC, datetime, timedelta

from approvals_testkit import snapshot, submitted


def window(start_offset: float, hours: float = 2) -> dict[str, str]:
    now = datetime.now(UTC)
    return {
        "starts_at": (now + timedelta(seconds=start_offset)).isoformat(),
        "ends_at": (now + timedelta(hours=hours)).isoformat(),
    }


async def test_a_task_for_an_absent_approver_goes_to_the_delegate_who_decides_on_their_behalf(service):
    r = await service.client.post(
        "/absences", json={"delegate_id": "dina", **window(-60)}, headers=service.headers("mona")
    )
    assert r.status_code == 201, r.text
    snap = snapshot(requester="erin")
    await service.publish(submitted(snap))
    [assigned] = await service.assigned(snap["request_id"])
    assert assigned.data["assignee"]["id"] == "dina"
    assert assigned.data["on_behalf_of"]["id"] == "mona"
    inbox = (await service.client.get("/tasks", headers=service.headers("dina"))).json()["items"]
    assert assigned.data["task_id"] in [t["id"] for t in inbox]
    r = await service.client.post(
        f"/tasks/{assigned.data['task_id']}/decision", json={"decision": "approved"}, headers=service.headers("dina")
    )
    assert r.status_code == 200
    assert r.json()["audit"] == "approved by Dina on behalf of Mona"
    [decided] = await service.reader.wait_for("approval.task_decided", subject=snap["request_id"])
    assert decided.data["decided_by"]["id"] == "dina"
    assert decided.data["on_behalf_of"]["id"] == "mona"


async def test_open_tasks_move_to_the_delegate_when_an_absence_starts(service):
    snap = snapshot(requester="bob", total="100.00")
    await service.publish(submitted(snap))
    [assigned] = await service.assigned(snap["request_id"])
    assert assigned.data["assignee"]["id"] == "mike"
    r = await service.client.post(
        "/absences", json={"user_id": "mike", "delegate_id": "lars", **window(1)}, headers=service.admin
    )
    assert r.status_code == 201
    moved = await service.assigned(snap["request_id"], count=2, timeout=20)
    assert moved[1].data["task_id"] != assigned.data["task_id"]
    assert moved[1].data["assignee"]["id"] == "lars"
    assert moved[1].data["on_behalf_of"]["id"] == "mike"
    [withdrawn] = await service.reader.wait_for("approval.task_withdrawn", subject=snap["request_id"])
    assert withdrawn.data["task_id"] == assigned.data["task_id"]
    assert withdrawn.data["assignee"]["id"] == "mike"
    await service.client.delete(f"/absences/{r.json()['id']}", headers=service.admin)


async def test_an_absence_with_a_bad_window_or_for_someone_else_is_refused(service):
    bad = {"delegate_id": "dina", "starts_at": "2027-01-02T00:00:00Z", "ends_at": "2027-01-01T00:00:00Z"}
    r = await service.client.post("/absences", json=bad, headers=service.headers("max"))
    assert r.status_code == 422
    assert "ends_at" in r.text
    r = await service.client.post(
        "/absences", json={"user_id": "dave", "delegate_id": "dina", **window(0)}, headers=service.headers("max")
    )
    assert r.status_code == 403


async def test_a_waiting_task_is_reminded_then_escalated_to_the_assignees_manager(service):
    snap = snapshot(requester="fred", category="fast")
    await service.publish(submitted(snap))
    [assigned] = await service.assigned(snap["request_id"])
    assert assigned.data["assignee"]["id"] == "max"
    [reminder] = await service.reader.wait_for("approval.reminder_due", subject=snap["request_id"], timeout=20)
    assert reminder.data["task_id"] == assigned.data["task_id"]
    assert reminder.data["assignee"]["id"] == "max"
    [escalated] = await service.reader.wait_for("approval.escalated", subject=snap["request_id"], timeout=20)
    assert escalated.data["from"]["id"] == "max"
    assert escalated.data["to"]["id"] == "dave"
    tasks = await service.assigned(snap["request_id"], count=2)
    assert tasks[1].data["task_id"] == escalated.data["new_task_id"]
    r = await service.client.post(
        f"/tasks/{assigned.data['task_id']}/decision", json={"decision": "approved"}, headers=service.headers("max")
    )
    assert r.status_code == 409


async def test_a_timer_that_fails_is_postponed_and_does_not_block_the_timers_behind_it(service):
    import uuid

    from sqlalchemy import select
    from sqlalchemy.ext.asyncio import create_async_engine

    from backoffice_approvals.models import approval_chain, approval_task, approval_timer

    engine = create_async_engine(service.settings.database_url)
    chain_id, task_id, now = str(uuid.uuid4()), str(uuid.uuid4()), datetime.now(UTC)
    person = {"id": "mike", "name": "Mike", "email": "mike@example.com"}
    try:
        async with engine.begin() as conn:
            # A chain whose stored plan lost its steps: escalating its task can only fail.
            await conn.execute(
                approval_chain.insert().values(
                    id=chain_id,
                    request_id=str(uuid.uuid4()),
                    revision=1,
                    requester=person,
                    snapshot={},
                    steps=[],
                    notes=[],
                    policy_version=1,
                    reminder_share=0.5,
                    status="in_progress",
                )
            )
            await conn.execute(
                approval_task.insert().values(
                    id=task_id,
                    chain_id=chain_id,
                    request_id="x",
                    step_index=0,
                    stage=0,
                    approver=person,
                    assignee_id="mike",
                    assignee=person,
                    status="open",
                    due_at=now,
                    remind_at=now,
                    created_at=now,
                )
            )
            await conn.execute(
                approval_timer.insert().values(kind="escalation", ref_id=task_id, fire_at=now - timedelta(minutes=5))
            )
        snap = snapshot(requester="fred", category="fast")
        await service.publish(submitted(snap))
        await service.reader.wait_for("approval.reminder_due", subject=snap["request_id"], timeout=20)
        async with engine.connect() as conn:
            row = (await conn.execute(select(approval_timer).where(approval_timer.c.ref_id == task_id))).one()
        assert row.attempts >= 1
        assert "IndexError" in row.last_error
        assert row.fired_at is None
        assert row.fire_at > now
    finally:
        await engine.dispose()


async def test_a_delegate_who_is_not_an_active_approver_of_the_directory_is_refused(service):
    for delegate in ("erin-the-requester-only", "nobody-at-all"):
        r = await service.client.post(
            "/absences", json={"delegate_id": delegate, **window(-60)}, headers=service.headers("mona")
        )
        assert r.status_code == 422, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert "delegate_id" in r.json()["detail"]
    listed = await service.client.get("/absences", headers=service.headers("mona"))
    assert all(a["delegate_id"] not in ("erin-the-requester-only", "nobody-at-all") for a in listed.json())


async def test_a_timer_scheduled_in_this_process_fires_when_due_though_the_idle_job_sleeps_a_minute(service):
    """The timer job sleeps until its earliest timer (here: none soon) or the minute's fallback; the
    commit that schedules a timer due sooner rings it awake, so that timer fires on time."""
    import asyncio
    import uuid

    from sqlalchemy import select
    from sqlalchemy.ext.asyncio import create_async_engine

    from backoffice_approvals.models import approval_timer

    assert service.settings.timer_idle_poll_seconds >= 60
    await asyncio.sleep(1.0)  # the job has looked and gone to sleep
    ref_id, fire_at = str(uuid.uuid4()), datetime.now(UTC) + timedelta(seconds=1.5)
    async with service.app.state.uow_factory() as uow:
        await uow.timers.schedule(kind="absence_start", ref_id=ref_id, fire_at=fire_at)
        await uow.commit()
    engine = create_async_engine(service.settings.database_url)
    try:
        fired_at = None
        for _ in range(100):
            async with engine.connect() as conn:
                query = select(approval_timer.c.fired_at).where(approval_timer.c.ref_id == ref_id)
                fired_at = (await conn.execute(query)).scalar_one()
            if fired_at is not None:
                break
            await asyncio.sleep(0.1)
        assert fired_at is not None, "the timer did not fire within 10 s"
        assert fire_at <= fired_at < fire_at + timedelta(seconds=5)
    finally:
        await engine.dispose()
