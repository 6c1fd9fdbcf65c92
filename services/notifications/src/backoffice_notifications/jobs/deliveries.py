"""The delivery job: sends due deliveries and records each outcome, vendor.notified and notification.failed.

Rows are claimed with ``FOR UPDATE SKIP LOCKED``, so workers (and replicas) never send the same row at
once. Emails go one per transaction over one SMTP connection per pass: the row stays locked while it is
sent and its outcome commits before the next email is sent, so a crash between the SMTP server
accepting a message and that commit re-sends that one message, never more (SMTP has no idempotency;
the stable Message-ID lets receivers drop the repeat). Webhooks are posted concurrently within one
transaction per batch (each may take up to the timeout); a crash before its commit re-posts the batch
with the same ``webhook-id`` on each, which the vendor deduplicates.

A worker looks before each pass and before it sleeps (``due_times``: per channel the earliest pending delivery
and how many are due, one autocommitted statement): a pass opens a unit of work only for a channel with work due
for that worker, and the look after it says how long to sleep.

The workers of a process share what they hold of the email channel (``EmailClaims``): a claim counts the emails
due, those the others hold included, so a worker subtracts what its process's other workers hold or took since,
and claims again (or, after a look, at all) only when an email is left for it, not to find the rows locked.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import structlog
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from backoffice_common.db import asyncpg_dsn
from backoffice_common.uow import UnitOfWork
from backoffice_common.wakeup import Wakeup
from backoffice_notifications.domain.deliveries import FAILED, Delivery, DeliveryError
from backoffice_notifications.mail.smtp import Mail, SmtpSession, build_mail
from backoffice_notifications.repository import DELIVERY_CHANNEL
from backoffice_notifications.repository.deliveries import DueTimes, due_times
from backoffice_notifications.service import deliveries, notices, secrets
from backoffice_notifications.service.uow import NotificationsUnitOfWork, notifications_uow
from backoffice_notifications.settings import Settings
from backoffice_notifications.webhooks.client import post_signed, webhook_client

log = structlog.get_logger(__name__)
UowFactory = Callable[[], UnitOfWork]


async def _email(row: Delivery, *, smtp: SmtpSession, settings: Settings) -> DeliveryError | None:
    try:
        message = _message(row, settings)
    except ValueError as exc:  # e.g. a line break in the address: no later attempt can build it either
        return DeliveryError(f"the message cannot be built: {exc}", permanent=True)
    except Exception as exc:  # as when aiosmtplib flattened the message inside the send: not a bad row's fault
        return DeliveryError(f"unexpected: {exc!r}", permanent=False)
    try:
        await smtp.send(message)
    except DeliveryError as exc:
        return exc
    except Exception as exc:  # a malformed row must not stop the others
        return DeliveryError(f"unexpected: {exc!r}", permanent=False)
    return None


def _message(row: Delivery, settings: Settings) -> Mail:
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in row.recipient) or "@" not in row.recipient:
        raise ValueError(f"the recipient {row.recipient!r} is not one email address")
    return build_mail(
        settings=settings,
        delivery_id=row.id,
        recipient=row.recipient,
        subject=row.subject or "",
        text=row.body_text or "",
        html=row.body_html,
        language=row.language,
    )


async def _webhook(
    row: Delivery, *, secrets_: list[str], http: httpx.AsyncClient, settings: Settings
) -> DeliveryError | None:
    try:
        # The same webhook-id on every retry lets the vendor's system deduplicate.
        await post_signed(
            http,
            url=row.recipient,
            payload=row.payload or {},
            secrets_=secrets_,
            msg_id=f"msg_{row.id}",
            settings=settings,
        )
    except DeliveryError as exc:
        return exc
    return None


async def _record(uow: NotificationsUnitOfWork, row: Delivery, error: DeliveryError | None, settings: Settings) -> None:
    await deliveries.record_outcome(uow, row, error, settings=settings)
    await notices.delivery_failed(uow, row, settings=settings)
    if row.status == FAILED:
        log.warning("delivery.failed", delivery_id=row.id, attempts=row.attempts, error=row.last_error)


@dataclass
class EmailClaims:
    """What the email workers of one process hold and have taken: ``held`` emails claimed and not yet committed
    or rolled back, ``taken`` claims so far (a clock). Shared by the process's workers (one event loop: no lock).
    Rows that workers of other processes hold are not known here: a claim may still find those locked."""

    held: int = 0
    taken: int = 0
    claiming: int = 0
    """Claims decided and not yet answered (their statement on its way or in flight): a worker deciding on its
    next claim leaves one row to each of them, so two workers of a process do not both go for the last one."""

    def left(self, due: int, *, held: int, taken: int) -> int:
        """Of ``due`` emails counted by a claim (its own one included), how many no other worker of this process
        held or has taken: ``held`` and ``taken`` as they were before the claim's statement was sent. Never more
        than are left (every row counted that another worker held or took since is subtracted); fewer when one
        of those committed before the count or was not due yet, which only costs the worker a look."""
        return due - 1 - held - (self.taken - taken - 1)


async def send_emails(
    *, uow_factory: UowFactory, settings: Settings, smtp: SmtpSession | None = None, claims: EmailClaims | None = None
) -> int:
    """Up to ``delivery_batch_size`` due emails, each claimed, sent and recorded in its own transaction.

    Over ``smtp``, the worker's kept-open session, or a session of this batch alone. ``claims``: what the other
    workers of this process hold (none when not given)."""
    if smtp is None:
        async with SmtpSession(settings) as own:
            return await send_emails(uow_factory=uow_factory, settings=settings, smtp=own, claims=claims)
    claims = claims if claims is not None else EmailClaims()
    # Counted up to the cap: when the count reaches it, more are assumed to be due.
    cap = (settings.delivery_workers + 1) * settings.delivery_batch_size
    handled = counted = held = taken = 0
    while handled < settings.delivery_batch_size:
        # The claim counts the emails due: after the last one left for this worker, no claim to find nothing
        # (a delivery committed meanwhile rings the worker's wakeup, which keeps the ring). Decided just before
        # the claim, with what the other workers took since the count and the claims they have in flight: no
        # await between the decision and ``claiming``, so of two workers deciding on one row left, one claims.
        if handled and counted < cap and claims.left(counted, held=held, taken=taken) - claims.claiming <= 0:
            break
        held, taken = claims.held, claims.taken
        claims.claiming += 1
        answered = False
        try:
            async with uow_factory() as opened:
                uow = notifications_uow(opened)
                try:
                    due, counted = await uow.deliveries.claim_due_counted(
                        now=datetime.now(UTC), limit=1, channel="email", cap=cap
                    )
                finally:
                    answered = True
                    claims.claiming -= 1
                if not due:
                    break
                claims.held += 1
                claims.taken += 1
                try:
                    await _record(uow, due[0], await _email(due[0], smtp=smtp, settings=settings), settings)
                    await uow.commit()
                finally:
                    claims.held -= 1
        finally:
            if not answered:
                claims.claiming -= 1
        handled += 1
    return handled


async def send_webhooks(*, uow_factory: UowFactory, settings: Settings, http: httpx.AsyncClient) -> int:
    """Up to ``delivery_batch_size`` due webhooks, posted concurrently, recorded in one transaction."""
    async with uow_factory() as opened:
        uow = notifications_uow(opened)
        due = await uow.deliveries.claim_due(
            now=datetime.now(UTC), limit=settings.delivery_batch_size, channel="webhook"
        )
        if not due:
            return 0
        # Secrets are read first: one database session cannot be shared by concurrent tasks.
        keys = [await secrets.valid_secrets(uow, vendor_id=row.vendor_id or "", settings=settings) for row in due]
        outcomes = await asyncio.gather(
            *(_webhook(row, secrets_=k, http=http, settings=settings) for row, k in zip(due, keys, strict=True))
        )
        for row, error in zip(due, outcomes, strict=True):
            await _record(uow, row, error, settings)
        await uow.commit()
        return len(due)


async def run_batch(
    *, uow_factory: UowFactory, settings: Settings, http: httpx.AsyncClient, smtp: SmtpSession | None = None
) -> int:
    """One pass over what is due; the number of deliveries handled (0: nothing was due)."""
    return sum(await _pass(uow_factory=uow_factory, settings=settings, http=http, smtp=smtp))


async def _pass(
    *,
    uow_factory: UowFactory,
    settings: Settings,
    http: httpx.AsyncClient,
    smtp: SmtpSession | None = None,
    emails: bool = True,
    webhooks: bool = True,
    claims: EmailClaims | None = None,
) -> tuple[int, int]:
    """One pass over the channels asked for: the emails and the webhooks handled."""
    sent, posted = await asyncio.gather(
        send_emails(uow_factory=uow_factory, settings=settings, smtp=smtp, claims=claims) if emails else _none(),
        send_webhooks(uow_factory=uow_factory, settings=settings, http=http) if webhooks else _none(),
    )
    return sent, posted


async def _none() -> int:
    return 0


Look = Callable[[datetime], Awaitable[DueTimes]]
"""The worker's look at ``now``: ``due_times`` on the service's engine."""


class _CountingEvent(asyncio.Event):
    def __init__(self) -> None:
        super().__init__()
        self.sets = 0

    def set(self) -> None:
        self.sets += 1
        super().set()


class CountingWakeup(Wakeup):
    """``Wakeup`` that counts its rings (every notification, and the ring after each (re)connection), for
    ``SharedLook``."""

    def __init__(self, dsn: str, channel: str) -> None:
        super().__init__(dsn, channel)
        self._event = self._counted = _CountingEvent()

    @property
    def rings(self) -> int:
        return self._counted.sets


class SharedLook:
    """The look of a process's workers, shared while one is in flight: the workers all wake at a ring, and the
    second one awaits the first one's look instead of sending the same statement again.

    A worker joins a look in flight only when no ring came since that look began (``rings``: the count of the
    process's wakeup): every delivery whose ring woke it committed before that look's statement, which therefore
    sees it, as the worker's own look would. Otherwise (a ring since), or with nothing in flight, the worker
    clears its wakeup and looks itself, as before. A joining worker does not clear the wakeup: a ring that
    came after the shared look began stays set and wakes the workers for another look."""

    def __init__(self, look: Look, rings: Callable[[], int]) -> None:
        self._look = look
        self._rings = rings
        self._flight: asyncio.Future[DueTimes] | None = None
        self._flight_rings = 0
        self.shared = 0
        """How many looks were answered by another worker's (for tests and benches)."""

    def joinable(self) -> bool:
        return self._flight is not None and not self._flight.done() and self._flight_rings == self._rings()

    async def join(self) -> DueTimes | None:
        """The result of the look in flight, if it may be joined (``joinable``); None otherwise (or if that
        look was cancelled: the caller looks itself)."""
        flight = self._flight
        if flight is None or not self.joinable():
            return None
        try:
            result = await asyncio.shield(flight)
        except asyncio.CancelledError:
            if flight.cancelled() and not _cancelling():
                return None  # the looking worker was stopped, not this one
            raise
        self.shared += 1
        return result

    async def __call__(self, now: datetime) -> DueTimes:
        """This worker's own look; others may join it while it is in flight."""
        flight: asyncio.Future[DueTimes] = asyncio.get_running_loop().create_future()
        self._flight, self._flight_rings = flight, self._rings()
        try:
            result = await self._look(now)
        except asyncio.CancelledError:
            flight.cancel()
            raise
        except BaseException as exc:
            flight.set_exception(exc)
            flight.exception()  # retrieved: no "never retrieved" warning when nobody joined
            raise
        finally:
            if self._flight is flight:
                self._flight = None
        flight.set_result(result)
        return result


def _cancelling() -> bool:
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


async def _worker(
    app: FastAPI, http: httpx.AsyncClient, wakeup: Wakeup, index: int, claims: EmailClaims, look: Look | None = None
) -> None:
    settings: Settings = app.state.settings
    async with SmtpSession(settings) as smtp:
        await _work(app, http, wakeup, smtp, look, index=index, claims=claims)


async def _work(
    app: FastAPI,
    http: httpx.AsyncClient,
    wakeup: Wakeup,
    smtp: SmtpSession,
    look: Look | None = None,
    *,
    index: int = 0,
    claims: EmailClaims | None = None,
) -> None:
    """Look, work, look again, sleep. The look (``due_times``: one autocommitted statement) says, per channel,
    when the earliest delivery falls due and how many are due now: a pass opens a unit of work only for a
    channel with work due for this worker, and no unit of work opens to find nothing.

    The process's workers wake together at a ring; worker ``index`` claims emails only when more than
    ``index`` are due, webhooks only when more than ``index`` batches are, so one email does not cost every
    other worker a claim that finds it taken. A delivery it leaves is claimed by a lower worker, which looks
    again after every pass that handled something; should that one be busy, this worker looks again after the
    poll interval (due rows held by another worker count as due).

    ``claims`` (shared by the process's workers): the emails the others hold are not counted as due for this one
    (the look counts them: they are pending until their outcome commits)."""
    settings: Settings = app.state.settings
    claims = claims if claims is not None else EmailClaims()
    batch = settings.delivery_batch_size
    if look is None:
        engine: AsyncEngine = app.state.engine
        cap = (settings.delivery_workers + 1) * batch

        async def look(now: datetime) -> DueTimes:
            return await due_times(engine, now=now, cap=cap)

    shared = look if isinstance(look, SharedLook) else None
    while True:
        now = datetime.now(UTC)
        try:
            # Another worker's look in flight that began after every ring so far sees what this one would.
            joined = await shared.join() if shared is not None else None
            if joined is not None:
                due = joined
            else:
                # The look sees everything committed so far: the rings of those deliveries are spent (without
                # this, a delivery a pass sent but whose ring came during it woke the worker for a look that
                # finds nothing). A delivery committed from now on rings again.
                wakeup.clear()
                due = await look(now)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("delivery.look_failed", error=repr(exc))
            await wakeup.wait(settings.delivery_poll_interval_seconds)
            continue
        emails, webhooks = due.emails_due - claims.held > index, due.webhooks_due > index * batch
        if emails or webhooks:
            try:
                handled = sum(
                    await _pass(
                        uow_factory=app.state.uow_factory,
                        settings=settings,
                        http=http,
                        smtp=smtp,
                        emails=emails,
                        webhooks=webhooks,
                        claims=claims,
                    )
                )
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("delivery.batch_failed", error=repr(exc))
                handled = 0
            if handled:
                continue  # look again: what is still due, or until when to sleep
            # Due but nothing claimed: another worker holds those rows (or the pass failed): the short poll.
        # Sleep: woken at once when a transaction records a delivery (also one committed since the look: the
        # wakeup keeps it); otherwise until the next retry falls due (at least the poll interval, at most the
        # idle poll; the poll interval when work is due that a lower worker is to take), so an idle service does
        # not poll.
        await wakeup.wait(wait_until_due(due.earliest, now=now, settings=settings))


def wait_until_due(due: datetime | None, *, now: datetime, settings: Settings) -> float:
    """The idle wait for a retry falling due at ``due``, within [poll interval, idle poll]."""
    longest = max(settings.delivery_poll_interval_seconds, settings.delivery_idle_poll_seconds)
    if due is None:
        return longest
    return min(longest, max(settings.delivery_poll_interval_seconds, (due - now).total_seconds()))


async def delivery_job(app: FastAPI) -> None:
    settings: Settings = app.state.settings
    wakeup = CountingWakeup(asyncpg_dsn(settings.database_url), DELIVERY_CHANNEL)
    listener = asyncio.create_task(wakeup.run())
    engine: AsyncEngine = app.state.engine
    cap = (settings.delivery_workers + 1) * settings.delivery_batch_size

    async def look(now: datetime) -> DueTimes:
        return await due_times(engine, now=now, cap=cap)

    shared = SharedLook(look, lambda: wakeup.rings)
    try:
        async with webhook_client() as http:
            claims = EmailClaims()
            await asyncio.gather(
                *(_worker(app, http, wakeup, i, claims, shared) for i in range(settings.delivery_workers))
            )
    finally:
        listener.cancel()
        await asyncio.gather(listener, return_exceptions=True)
