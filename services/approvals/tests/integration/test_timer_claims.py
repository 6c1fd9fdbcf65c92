from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from backoffice_approvals.jobs import TimerSteps
from backoffice_approvals.models import messaging
from backoffice_approvals.repository.timers import claim_due_timers, next_due_at_now, schedule
from backoffice_approvals.service.timers import fire_due_timer
from backoffice_approvals.service.uow import ApprovalsUnitOfWork
from backoffice_approvals.settings import Settings
from backoffice_common.db import make_engine, make_session_factory
from backoffice_common.testing import private_database

MIGRATIONS = Path(__file__).parents[2] / "src" / "backoffice_approvals" / "migrations"


async def test_two_instances_claiming_due_timers_never_get_the_same_one():
    async with private_database(MIGRATIONS) as url:
        engine = create_async_engine(url)
        sessions = async_sessionmaker(engine, expire_on_commit=False)
        now = datetime.now(UTC)
        try:
            async with sessions() as setup:
                for i in range(4):
                    await schedule(
                        session=setup, kind="reminder", ref_id=f"task-{i}", fire_at=now - timedelta(seconds=i)
                    )
                await schedule(session=setup, kind="reminder", ref_id="later", fire_at=now + timedelta(hours=1))
                await setup.commit()
            async with sessions() as first, sessions() as second:
                a = await claim_due_timers(session=first, now=now, limit=3)
                b = await claim_due_timers(session=second, now=now, limit=3)
                assert [t.ref_id for t in a] == ["task-3", "task-2", "task-1"]
                assert [t.ref_id for t in b] == ["task-0"]
                await first.rollback()
                await second.rollback()
            async with sessions() as again:
                assert len(await claim_due_timers(session=again, now=now, limit=10)) == 4
        finally:
            await engine.dispose()


async def test_the_timer_job_opens_a_unit_of_work_only_for_a_due_timer_and_sleeps_on_its_look():
    async with private_database(MIGRATIONS) as url:
        engine = make_engine(url)
        sessions = make_session_factory(engine)
        opened: list[ApprovalsUnitOfWork] = []

        def uow_factory() -> ApprovalsUnitOfWork:
            uow = ApprovalsUnitOfWork(sessions, tables=messaging, service="approvals")
            opened.append(uow)
            return uow

        looks: list[datetime | None] = []

        async def look() -> datetime | None:
            looks.append(await next_due_at_now(engine))
            return looks[-1]

        async def fire() -> bool:
            return await fire_due_timer(uow_factory=uow_factory, settings=Settings(exchange_rates={"USD": "0.9"}))

        now = datetime.now(UTC)
        later = now + timedelta(hours=1)
        try:
            async with sessions() as setup:
                await schedule(session=setup, kind="reminder", ref_id="gone-task", fire_at=now - timedelta(seconds=1))
                await schedule(session=setup, kind="reminder", ref_id="later-task", fire_at=later)
                await setup.commit()
            steps = TimerSteps(look=look, fire=fire)
            assert await steps.fire_one() is True  # the due one: claimed, fired (no open chain) and committed
            assert len(opened) == 1
            assert await steps.fire_one() is False  # the look says the next one is an hour away: no unit of work
            assert len(opened) == 1
            assert await steps.next_due_at() == later  # the sleep comes from that look, not a second read
            assert len(looks) == 2
            async with sessions() as check:
                assert await claim_due_timers(session=check, now=datetime.now(UTC), limit=10) == []
                await check.rollback()

            async with sessions() as other:  # a due timer another instance holds
                await schedule(session=other, kind="reminder", ref_id="held-task", fire_at=now - timedelta(seconds=2))
                await other.commit()
                [held] = await claim_due_timers(session=other, now=datetime.now(UTC), limit=1)
                assert await steps.fire_one() is False  # due by the look, nothing claimed
                assert len(opened) == 2
                assert await steps.next_due_at() == held.fire_at  # read anew: due, so the loop's short poll
                assert len(looks) == 4
                await other.rollback()
        finally:
            await engine.dispose()
