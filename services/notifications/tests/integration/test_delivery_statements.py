"""The delivery worker's raw statements: what they store, claim and wake, against the real PostgreSQL.

On a database of their own, without a delivery worker that would claim the rows first."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import asyncpg
import httpx
import pytest
from notifications_testkit import MIGRATIONS, make_settings
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from backoffice_common.db import asyncpg_dsn, make_engine, make_session_factory
from backoffice_common.testing import private_database
from backoffice_common.wakeup import Wakeup
from backoffice_notifications.domain.deliveries import Delivery, DeliveryError
from backoffice_notifications.jobs.deliveries import EmailClaims, SharedLook, _work, send_emails
from backoffice_notifications.mail.smtp import SmtpSession
from backoffice_notifications.models import messaging
from backoffice_notifications.repository import DELIVERY_CHANNEL
from backoffice_notifications.repository.deliveries import DueTimes, due_times
from backoffice_notifications.service.uow import NotificationsUnitOfWork


@pytest.fixture(scope="module")
async def database() -> AsyncIterator[str]:
    async with private_database(MIGRATIONS) as url:
        yield url


@pytest.fixture
async def factory(database: str) -> AsyncIterator[object]:
    engine = make_engine(database, pool_size=2)
    sessions = make_session_factory(engine)
    yield lambda: NotificationsUnitOfWork(sessions, tables=messaging, service="notifications")
    await engine.dispose()


class CountedUnits:
    """A unit-of-work factory on an engine of its own that counts the units of work it opens (``opened``)."""

    def __init__(self, database: str, *, pool_size: int = 2) -> None:
        self.engine = make_engine(database, pool_size=pool_size)
        self.sessions = make_session_factory(self.engine)
        self.opened: list[int] = []

    def __call__(self) -> NotificationsUnitOfWork:
        self.opened.append(1)
        return NotificationsUnitOfWork(self.sessions, tables=messaging, service="notifications")


async def only_these_due(uow_factory: CountedUnits, *deliveries: Delivery) -> None:
    """Nothing else pending (the other tests' rows are marked sent), then ``deliveries`` added; the units of work
    counted from here."""
    async with uow_factory() as uow:
        await uow.session.execute(text("UPDATE delivery SET status = 'sent' WHERE status = 'pending'"))
        for d in deliveries:
            assert await uow.deliveries.add(d)
        await uow.commit()
    uow_factory.opened.clear()


def a_delivery(channel: str, *, payload: dict[str, object] | None = None) -> Delivery:
    event_id = f"stmt-{uuid.uuid4()}"
    return Delivery(
        id=str(uuid.uuid4()),
        event_id=event_id,
        correlation_id=event_id,
        request_id=str(uuid.uuid4()),
        revision=2,
        vendor_id=f"v-{uuid.uuid4().hex[:8]}",
        channel=channel,
        recipient="ops@vendor.test" if channel == "email" else "https://vendor.test/hook",
        template="purchase_order",
        language="de",
        subject="Bestellung PR-1 zur Prüfung" if channel == "email" else None,
        body_text="Grüße\n" if channel == "email" else None,
        payload=payload,
        notifies_vendor=True,
    )


async def test_a_new_delivery_is_stored_as_given_and_wakes_the_workers_once_a_repeat_stores_and_wakes_nothing(
    database, factory
) -> None:  # type: ignore[no-untyped-def]
    woken: asyncio.Queue[str] = asyncio.Queue()
    listener = await asyncpg.connect(asyncpg_dsn(database))
    await listener.add_listener(DELIVERY_CHANNEL, lambda *args: woken.put_nowait(args[2]))
    try:
        payload = {"type": "purchase_order.approved", "order": {"total": "10.00", "lines": [{"no": 1}]}}
        email, hook = a_delivery("email"), a_delivery("webhook", payload=payload)
        async with factory() as uow:
            assert await uow.deliveries.add(email)
            assert await uow.deliveries.add(hook)
            await uow.commit()
        assert await asyncio.wait_for(woken.get(), timeout=5) == DELIVERY_CHANNEL
        async with factory() as uow:
            assert not await uow.deliveries.add(email)  # same event, recipient and template
            await uow.commit()
        await asyncio.sleep(0.5)
        assert woken.empty()  # one notification for the first commit (PostgreSQL folds repeats), none for the repeat

        async with factory() as uow:
            stored = await uow.deliveries.get(hook.id)
            raw_email = await uow.session.scalar(
                text("SELECT jsonb_typeof(payload) FROM delivery WHERE id = :id"), {"id": email.id}
            )
        assert stored is not None
        assert stored.payload == payload
        assert (stored.subject, stored.vendor_id, stored.revision, stored.notifies_vendor) == (
            None,
            hook.vendor_id,
            2,
            True,
        )
        assert raw_email == "null"  # no payload: JSON null, as SQLAlchemy's JSONB stored it
    finally:
        await listener.close()


async def test_a_claimed_email_is_locked_from_other_workers_and_its_outcome_is_recorded(factory) -> None:  # type: ignore[no-untyped-def]
    email = a_delivery("email")
    async with factory() as uow:
        assert await uow.deliveries.add(email)
        # due before anything the other test left pending
        await uow.session.execute(
            text("UPDATE delivery SET next_attempt_at = :at WHERE id = :id"),
            {"at": datetime(2001, 1, 1, tzinfo=UTC), "id": email.id},
        )
        await uow.commit()
    now = datetime.now(UTC)
    async with factory() as first:
        claimed = await first.deliveries.claim_due(now=now, limit=1, channel="email")
        assert [d.id for d in claimed] == [email.id]
        assert claimed[0].subject == email.subject
        assert claimed[0].body_text == email.body_text
        async with factory() as second:  # another worker skips the locked row
            others = await second.deliveries.claim_due(now=now, limit=50, channel="email")
            assert email.id not in [d.id for d in others]
        retry_at = now + timedelta(minutes=5)
        error = DeliveryError("SMTP unavailable", permanent=False)
        claimed[0].attempt_failed(error, max_attempts=5, retry_in=(retry_at - now).total_seconds(), now=now)
        await first.deliveries.save(claimed[0])
        await first.commit()
    async with factory() as uow:
        after = await uow.deliveries.get(email.id)
        due = await uow.deliveries.next_due()
    assert after is not None
    assert (after.status, after.attempts, after.last_error) == ("pending", 1, "SMTP unavailable")
    assert after.next_attempt_at == claimed[0].next_attempt_at
    assert due is not None
    assert due <= after.next_attempt_at


def counted_look(engine: AsyncEngine, looks: list[DueTimes]) -> Callable[[datetime], Awaitable[DueTimes]]:
    """The worker's look (``due_times``), each answer kept in ``looks``."""

    async def look(now: datetime) -> DueTimes:
        looks.append(await due_times(engine, now=now, cap=60))
        return looks[-1]

    return look


class StopAtSleep:
    """The worker's wakeup: the first time the worker goes to sleep, note how many units of work it had
    opened by then and for how long it would sleep, and stop it."""

    def __init__(self, opened: list[int]) -> None:
        self.opened = opened
        self.at_sleep: int | None = None
        self.timeout: float | None = None

    async def wait(self, timeout: float) -> None:
        self.at_sleep = len(self.opened)
        self.timeout = timeout
        raise asyncio.CancelledError

    def clear(self) -> None:
        pass


@pytest.mark.parametrize("emails", [1, 3])
async def test_a_worker_that_drained_both_channels_sleeps_after_one_pass_without_claiming_again(
    database, emails
) -> None:  # type: ignore[no-untyped-def]
    uow_factory = CountedUnits(database, pool_size=2)
    engine, opened = uow_factory.engine, uow_factory.opened
    settings = make_settings(database, "unused.")
    await only_these_due(uow_factory, *(a_delivery("email") for _ in range(emails)))
    wakeup = StopAtSleep(opened)
    looks: list[DueTimes] = []
    app = SimpleNamespace(state=SimpleNamespace(settings=settings, uow_factory=uow_factory))
    try:
        async with httpx.AsyncClient() as http, SmtpSession(settings) as smtp:
            with pytest.raises(asyncio.CancelledError):
                await _work(app, http, wakeup, smtp, counted_look(engine, looks))  # type: ignore[arg-type]
        # One unit of work per email (the claim says whether it was the last one due), none for the webhooks (the
        # look found none due) nor for the next due time (the look after the pass says it): the look before the
        # pass and the one after it are one autocommitted statement each. Before the sixth round: emails + 2 units
        # of work (the webhooks' empty claim, the next due time), before the fifth emails + 3, the fourth 6.
        assert wakeup.at_sleep == emails
        assert len(looks) == 2
        assert looks[0].email is not None
        assert looks[0].emails_due == emails
        assert looks[0].webhook is None
        assert looks[1] == DueTimes(email=None, webhook=None)
        assert wakeup.timeout == settings.delivery_idle_poll_seconds  # nothing pending: the longest sleep
        assert smtp.connections == 1
    finally:
        await engine.dispose()


class ListeningStopAtSleep(Wakeup):
    """The real wakeup (LISTEN on the workers' channel); at the worker's first sleep, note whether a ring
    was pending (it would wake the worker at once for another pass) and stop it."""

    pending_at_sleep: bool | None = None

    async def wait(self, timeout: float) -> None:
        self.pending_at_sleep = self.rung
        raise asyncio.CancelledError


async def test_the_rings_of_deliveries_a_pass_sent_do_not_wake_the_worker_for_a_pass_that_finds_nothing(
    database,
) -> None:  # type: ignore[no-untyped-def]
    uow_factory = CountedUnits(database, pool_size=2)
    engine, opened = uow_factory.engine, uow_factory.opened
    settings = make_settings(database, "unused.")
    wakeup = ListeningStopAtSleep(asyncpg_dsn(database), DELIVERY_CHANNEL)
    listener = asyncio.create_task(wakeup.run())
    try:
        async with uow_factory() as uow:
            await uow.session.execute(text("UPDATE delivery SET status = 'sent' WHERE status = 'pending'"))
            await uow.commit()
        for _ in range(100):  # listening (its first ring, on connecting, is set)
            if wakeup.rung:
                break
            await asyncio.sleep(0.05)
        async with uow_factory() as uow:  # committed before the pass: its ring is pending when the pass starts
            assert await uow.deliveries.add(a_delivery("email"))
            await uow.commit()
        await asyncio.sleep(0.3)
        assert wakeup.rung
        opened.clear()
        app = SimpleNamespace(state=SimpleNamespace(settings=settings, uow_factory=uow_factory))
        async with httpx.AsyncClient() as http, SmtpSession(settings) as smtp:
            with pytest.raises(asyncio.CancelledError):
                await _work(app, http, wakeup, smtp, counted_look(engine, []))  # type: ignore[arg-type]
        assert len(opened) == 1  # the email sent (three before the sixth round: the webhooks' claim, the next due time)
        assert wakeup.pending_at_sleep is False  # the pass sent it: its ring does not call for another pass
    finally:
        listener.cancel()
        await asyncio.gather(listener, return_exceptions=True)
        await engine.dispose()


async def test_an_email_due_that_another_worker_holds_costs_one_empty_claim_then_the_short_poll_not_a_spin(
    database,
) -> None:  # type: ignore[no-untyped-def]
    uow_factory = CountedUnits(database, pool_size=3)
    engine, opened = uow_factory.engine, uow_factory.opened
    settings = make_settings(database, "unused.")
    email = a_delivery("email")
    await only_these_due(uow_factory, email)
    looks: list[DueTimes] = []
    try:
        async with uow_factory() as other:  # another worker is sending it: the row is locked
            held = await other.deliveries.claim_due(now=datetime.now(UTC), limit=1, channel="email")
            assert [d.id for d in held] == [email.id]
            opened.clear()
            wakeup = StopAtSleep(opened)
            app = SimpleNamespace(state=SimpleNamespace(settings=settings, uow_factory=uow_factory))
            async with httpx.AsyncClient() as http, SmtpSession(settings) as smtp:
                with pytest.raises(asyncio.CancelledError):
                    await _work(app, http, wakeup, smtp, counted_look(engine, looks))  # type: ignore[arg-type]
            await other.rollback()
        assert wakeup.at_sleep == 1  # the email claim that skipped the held row; no webhook claim
        assert len(looks) == 1
        assert wakeup.timeout == settings.delivery_poll_interval_seconds
        assert smtp.connections == 0
    finally:
        await engine.dispose()


@pytest.mark.parametrize(("emails", "sent"), [(1, 0), (2, 2)])
async def test_the_second_worker_claims_an_email_only_when_more_than_one_is_due(database, emails, sent) -> None:  # type: ignore[no-untyped-def]
    uow_factory = CountedUnits(database, pool_size=2)
    engine, opened = uow_factory.engine, uow_factory.opened
    settings = make_settings(database, "unused.")
    await only_these_due(uow_factory, *(a_delivery("email") for _ in range(emails)))
    wakeup = StopAtSleep(opened)
    looks: list[DueTimes] = []
    app = SimpleNamespace(state=SimpleNamespace(settings=settings, uow_factory=uow_factory))
    try:
        async with httpx.AsyncClient() as http, SmtpSession(settings) as smtp:
            with pytest.raises(asyncio.CancelledError):
                await _work(app, http, wakeup, smtp, counted_look(engine, looks), index=1)  # type: ignore[arg-type]
        # One email due: the first worker, woken by the same ring, takes it; this one opens nothing and looks
        # again after the short poll (the email is still due). Two: it claims, and with no other worker here
        # goes on to the second (its claim said another was due), then sleeps the idle poll.
        assert looks[0].emails_due == emails
        assert wakeup.at_sleep == sent
        assert smtp.connections == min(sent, 1)
        assert wakeup.timeout == (
            settings.delivery_poll_interval_seconds if sent == 0 else settings.delivery_idle_poll_seconds
        )
        async with uow_factory() as uow:
            pending = await uow.session.scalar(text("SELECT count(*) FROM delivery WHERE status = 'pending'"))
        assert pending == emails - sent
    finally:
        await engine.dispose()


@pytest.mark.parametrize(("claiming", "sent"), [(0, 2), (1, 1)])
async def test_a_worker_leaves_the_last_email_to_a_claim_another_worker_has_in_flight(database, claiming, sent) -> None:  # type: ignore[no-untyped-def]
    """Two emails due; another worker of the process has decided on a claim and not been answered yet
    (``EmailClaims.claiming``): this worker claims the first (its pass was decided by its look), and its claim
    counts two due, one of them left to the other's claim: it claims no second one that would find the row the
    other took. Without a claim in flight it sends both."""
    uow_factory = CountedUnits(database, pool_size=2)
    engine, opened = uow_factory.engine, uow_factory.opened
    settings = make_settings(database, "unused.")
    await only_these_due(uow_factory, *(a_delivery("email") for _ in range(2)))
    claims = EmailClaims(claiming=claiming)
    try:
        async with SmtpSession(settings) as smtp:
            handled = await send_emails(uow_factory=uow_factory, settings=settings, smtp=smtp, claims=claims)
        assert handled == sent
        assert len(opened) == sent  # a unit of work for each email sent, none for nothing
        assert (claims.held, claims.taken, claims.claiming) == (0, sent, claiming)
        async with uow_factory() as uow:
            pending = await uow.session.scalar(text("SELECT count(*) FROM delivery WHERE status = 'pending'"))
        assert pending == 2 - sent
    finally:
        await engine.dispose()


class Asleep(Exception):
    """A worker went to sleep."""


class StopEachAtSleep:
    """One wakeup for several workers: each one's first sleep ends it (raises ``Asleep``)."""

    def clear(self) -> None:
        pass

    async def wait(self, timeout: float) -> None:
        raise Asleep


class Counted(SmtpSession):
    """The real SMTP session; each send counted."""

    sent = 0

    async def send(self, message: object) -> None:  # type: ignore[override]
        await super().send(message)  # type: ignore[arg-type]
        Counted.sent += 1


ATTEMPTS = 8
"""A burst's claims race with the other worker's commits: a look whose snapshot was taken just before the other
worker committed an email, read with the process's held count taken just after, counts that email as due and one
claim finds nothing (an extra unit of work, never a lost or repeated email). Seen about once in 16 runs on a busy
machine, before the ninth round too; with two CPU-bound processes beside it, 8-10 bursts of 5 emails in 40 had
one claim in vain (3 of 11 from the look, 8 from a pass's next claim racing the other worker's), and a CI run had
three in a row (the eleventh round; it was 3 attempts then). A next claim now leaves a row to each claim the other
worker has in flight (``EmailClaims.claiming``): 3 in 40 bursts under the same load, against 7 before in the same
run, nearly all from the look. The two tests below assert every run's emails and
rows, and that a burst without an extra claim happens within ``ATTEMPTS`` runs: a change that made every burst
claim in vain fails."""


@pytest.mark.parametrize("emails", [2, 3, 5])
async def test_two_workers_of_a_process_send_a_burst_without_a_claim_that_finds_the_other_ones_row(
    database, emails
) -> None:  # type: ignore[no-untyped-def]
    units: list[int] = []
    while len(units) < ATTEMPTS and (not units or units[-1] != emails):
        units.append(await _burst(database, emails))
    assert units[-1] == emails, units  # no unit of work opened to find a row the other held


async def _burst(database: str, emails: int) -> int:
    """The units of work two workers of a process opened to send a burst of ``emails``."""
    uow_factory = CountedUnits(database, pool_size=4)
    engine, opened = uow_factory.engine, uow_factory.opened
    settings = make_settings(database, "unused.")
    await only_these_due(uow_factory, *(a_delivery("email") for _ in range(emails)))
    Counted.sent = 0
    claims = EmailClaims()
    app = SimpleNamespace(state=SimpleNamespace(settings=settings, uow_factory=uow_factory))
    wakeup = StopEachAtSleep()
    try:
        async with httpx.AsyncClient() as http, Counted(settings) as smtp0, Counted(settings) as smtp1:
            ended = await asyncio.gather(
                *(
                    _work(app, http, wakeup, smtp, counted_look(engine, []), index=i, claims=claims)  # type: ignore[arg-type]
                    for i, smtp in enumerate((smtp0, smtp1))
                ),
                return_exceptions=True,
            )
        assert all(isinstance(e, Asleep) for e in ended), ended
        # Every email sent once, each claimed once.
        assert Counted.sent == emails
        assert (claims.held, claims.taken) == (0, emails)
        units = len(opened)
        async with uow_factory() as uow:
            pending = await uow.session.scalar(text("SELECT count(*) FROM delivery WHERE status = 'pending'"))
        assert pending == 0
        return units
    finally:
        await engine.dispose()


@pytest.mark.parametrize(("emails", "shared_look"), [(1, True), (1, False), (3, True)])
async def test_two_workers_woken_together_send_one_look_between_them(database, emails, shared_look) -> None:  # type: ignore[no-untyped-def]
    units: list[int] = []
    while len(units) < ATTEMPTS and (not units or units[-1] != emails):
        units.append(await _woken_together(database, emails, shared_look))
    assert units[-1] == emails, units  # see ATTEMPTS


async def _woken_together(database: str, emails: int, shared_look: bool) -> int:
    """The units of work two workers woken together opened to send ``emails``, their looks checked."""
    uow_factory = CountedUnits(database, pool_size=4)
    engine, opened = uow_factory.engine, uow_factory.opened
    settings = make_settings(database, "unused.")
    await only_these_due(uow_factory, *(a_delivery("email") for _ in range(emails)))
    Counted.sent = 0
    claims = EmailClaims()
    looks: list[DueTimes] = []
    statement = counted_look(engine, looks)
    look = SharedLook(statement, lambda: 0) if shared_look else statement  # no ring during the test
    app = SimpleNamespace(state=SimpleNamespace(settings=settings, uow_factory=uow_factory))
    try:
        async with httpx.AsyncClient() as http, Counted(settings) as smtp0, Counted(settings) as smtp1:
            ended = await asyncio.gather(
                *(
                    _work(app, http, StopEachAtSleep(), smtp, look, index=i, claims=claims)  # type: ignore[arg-type]
                    for i, smtp in enumerate((smtp0, smtp1))
                ),
                return_exceptions=True,
            )
        assert all(isinstance(e, Asleep) for e in ended), ended
        assert Counted.sent == emails
        units = len(opened)
        if emails == 1:
            # The second worker, woken by the same ring, takes the first one's look: one statement for both
            # (with a look each, as before the ninth round: 3), then the first worker's look after its pass.
            assert len(looks) == (2 if shared_look else 3)
            assert looks[0].emails_due == 1
            assert looks[-1] == DueTimes(email=None, webhook=None)
        if shared_look:
            assert isinstance(look, SharedLook)
            assert look.shared >= 1
        async with uow_factory() as uow:
            pending = await uow.session.scalar(text("SELECT count(*) FROM delivery WHERE status = 'pending'"))
        assert pending == 0
        return units
    finally:
        await engine.dispose()
