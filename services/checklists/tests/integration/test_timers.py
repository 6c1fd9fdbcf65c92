"""Durable timers: overdue items, access items escalated to security after the last day, a restart in between."""

from __future__ import annotations

import os
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta

from checklists_testkit import HR, MIGRATIONS, Service, auth, days_ago, employee, items_by_key, settings_for, unique
from sqlalchemy import select

from backoffice_checklists.jobs import idle_wait
from backoffice_checklists.main import create_app
from backoffice_checklists.models import checklist_timer
from backoffice_checklists.service.uow import TIMER_BELL
from backoffice_common.testing import TopicReader, app_client, eventually, private_database, unique_prefix


async def test_an_item_past_its_due_day_is_reported_overdue_once_with_what_a_mailer_needs(service: Service) -> None:
    eid = unique("emp")
    cid = (await service.start("onboarding", employee(eid, language="de", start_date=days_ago(20))))["id"]
    overdue = await service.events.wait_for("checklist.item_overdue", subject=cid, count=8)
    contract = next(e.data for e in overdue if e.data["item"]["key"] == "contract_filed")
    assert contract["language"] == "de"
    assert contract["employee"]["name"] == "Erika Muster"
    assert contract["item"]["assignee_group"] == "hr"
    assert contract["item"]["title"] == "Unterschriebenen Arbeitsvertrag ablegen"
    assert contract["item"]["due_on"] == days_ago(34)
    assert contract["red_flag"] is False
    keys = [e.data["item"]["key"] for e in overdue]
    assert sorted(keys) == sorted(set(keys))


async def test_an_access_item_open_after_the_last_day_escalates_to_security_and_shows_red(service: Service) -> None:
    eid, guard = unique("emp"), unique("sam")
    assert (await service.client.put("/groups/security", json={"members": [guard]}, headers=HR)).status_code == 200
    person = employee(eid, start_date="2020-01-01", last_day=days_ago(2))
    cid = (await service.start("offboarding", person))["id"]
    await service.complete(cid, "vpn_tokens_revoked", HR)

    async def escalated() -> list[object] | None:
        found = [e for e in service.events.of_type("checklist.item_overdue", subject=cid) if e.data["red_flag"]]
        return found if len(found) >= 2 else None

    red = await eventually(escalated, timeout=30)
    assert {e.data["item"]["key"] for e in red} == {"accounts_disabled", "badge_returned"}  # type: ignore[attr-defined]
    assert {e.data["escalated_to"] for e in red} == {"security"}  # type: ignore[attr-defined]
    view = (await service.client.get("/checklists", params={"kind": "offboarding", "limit": 200}, headers=HR)).json()
    mine = next(c for c in view if c["id"] == cid)
    assert mine["red_flags"] == 2
    assert {i["key"] for i in mine["overdue_items"] if i["red_flag"]} == {"accounts_disabled", "badge_returned"}
    theirs = (await service.client.get("/me/items", headers=auth(guard))).json()
    assert {i["key"] for i in theirs if i["checklist_id"] == cid} == {"accounts_disabled", "badge_returned"}
    done = await service.complete(cid, "accounts_disabled", auth(guard), signed_off_by="hanna")
    assert done.status_code == 200, done.text
    assert not items_by_key((await service.client.get(f"/checklists/{cid}", headers=HR)).json())["accounts_disabled"][
        "red_flag"
    ]


async def test_timers_pending_across_a_restart_fire_after_it() -> None:
    """A service stops with due timers in the database; the next one fires each exactly once."""
    bootstrap = os.environ["BACKOFFICE_KAFKA_BOOTSTRAP"]
    prefix = unique_prefix()
    eid = unique("emp")
    async with (
        private_database(MIGRATIONS) as url,
        TopicReader(bootstrap, f"{prefix}backoffice.checklists") as events,
    ):
        paused = create_app(settings_for(url, bootstrap, prefix, timers_enabled=False))
        async with app_client(paused) as client:
            person = employee(eid, start_date="2020-01-01", last_day=days_ago(1))
            r = await client.post("/checklists", json={"kind": "offboarding", "employee": person}, headers=HR)
            assert r.status_code == 201, r.text
            cid = r.json()["id"]
            await events.wait_for("checklist.started", subject=cid)
            async with paused.state.session_factory() as session:
                pending = (
                    await session.execute(select(checklist_timer).where(checklist_timer.c.fired_at.is_(None)))
                ).all()
        # 5 due dates and 3 access escalations; reminders only for the two items due after the last day
        assert sorted(row.kind for row in pending) == ["access"] * 3 + ["due"] * 5 + ["remind"] * 2
        assert events.of_type("checklist.item_overdue", subject=cid) == []

        restarted = create_app(settings_for(url, bootstrap, prefix))
        async with app_client(restarted):
            overdue = await events.wait_for("checklist.item_overdue", subject=cid, count=6)
            async with restarted.state.session_factory() as session:

                async def due_ones_fired() -> list[str]:
                    query = select(checklist_timer.c.ref_id).where(checklist_timer.c.fired_at.is_(None))
                    return [ref.split("/")[1] for ref in (await session.execute(query)).scalars()]

                later = ["final_payroll", "final_payroll", "reference_letter", "reference_letter"]
                await eventually(lambda: _equal(due_ones_fired(), later), timeout=30)
    red = {e.data["item"]["key"] for e in overdue if e.data["red_flag"]}
    assert red == {"accounts_disabled", "badge_returned", "vpn_tokens_revoked"}
    assert len(overdue) == 6


async def _equal(values: Awaitable[list[str]], expected: list[str]) -> bool:
    """Only the timers not yet due (the items due after the last day) are still pending."""
    return sorted(await values) == expected


async def test_the_idle_timer_job_sleeps_until_the_earliest_timer_and_a_commit_setting_one_rings_it() -> None:
    """No fixed poll: the job's wait is the time to the earliest timer (the fallback without one, the
    short poll for a due one held elsewhere), and a commit that set a timer rings the job's bell."""
    bootstrap = os.environ["BACKOFFICE_KAFKA_BOOTSTRAP"]
    async with private_database(MIGRATIONS) as url:
        extra = {"timers_enabled": False, "timer_idle_poll_seconds": 60.0}
        app = create_app(settings_for(url, bootstrap, unique_prefix(), **extra))
        async with app_client(app):
            factory, settings = app.state.uow_factory, app.state.settings
            assert await idle_wait(factory, settings) == 60.0  # no timer at all: the fallback

            async def set_timer(ref_id: str, fire_at: datetime) -> bool:
                mark = TIMER_BELL.mark()
                async with factory() as uow:
                    await uow.timers.set(kind="due", ref_id=ref_id, fire_at=fire_at)
                    await uow.commit()
                return TIMER_BELL.mark() != mark

            assert await set_timer("c1/later", datetime.now(UTC) + timedelta(hours=2))
            assert await idle_wait(factory, settings) == 60.0
            assert await set_timer("c1/soon", datetime.now(UTC) + timedelta(seconds=20))
            assert 19.0 < await idle_wait(factory, settings) <= 20.0
            assert await set_timer("c1/held", datetime.now(UTC) - timedelta(seconds=5))
            short = settings.timer_poll_seconds
            assert await idle_wait(factory, settings) == short  # due, but not claimed by this job: the short poll
            mark = TIMER_BELL.mark()
            async with factory() as uow:  # a commit that sets no timer rings nothing
                await uow.commit()
            assert TIMER_BELL.mark() == mark
