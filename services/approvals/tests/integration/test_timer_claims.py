from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from backoffice_approvals.repository.timers import claim_due_timers, schedule
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
