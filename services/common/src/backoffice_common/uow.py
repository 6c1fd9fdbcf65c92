"""Unit of work: one database transaction that also writes the events it causes to the outbox."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any, Self

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from backoffice_common import audit
from backoffice_common.db import (
    DRIVER_TRANSACTION,
    DriverSession,
    DriverTransaction,
    driver_connection,
    text_literal,
)
from backoffice_common.events import KAFKA_HEADERS, CloudEvent, new_event
from backoffice_common.messaging import MessagingTables, notify_channel
from backoffice_common.tracing import current_trace_headers


class UnitOfWork:
    """``async with uow: ...; await uow.commit()``. Leaving the block without commit rolls back.

    Only the handler that opened the unit of work commits; repositories never do.

    Aggregates record their own events. A use case hands every aggregate it loaded or created to
    ``track``; at commit the unit of work calls ``collect_events``, which a service's subclass
    overrides to turn each tracked aggregate's recorded events into ``publish`` calls (and any
    rows that go with them, such as a timeline), then writes them to the outbox in the same
    transaction. A service's subclass also exposes its repositories as attributes
    (``uow.requests``), so use cases can be tested with a fake unit of work.

    The transaction is asyncpg's own (``db.DriverTransaction``): the connection is checked out of the
    engine's pool and BEGIN sent at the first statement (a unit of work that runs none sends nothing),
    COMMIT and ROLLBACK are asyncpg's. ``session`` is a SQLAlchemy session on that same connection and
    transaction (``db.DriverSession``) for the repositories that use the ORM or Core; the raw paths
    (``db.driver_connection``, ``db.fetch_beginning``, the inbox claim, the commit statement) never go
    through SQLAlchemy, and a session nothing ran on costs no greenlet at the end.
    """

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        *,
        tables: MessagingTables,
        service: str,
        topic_prefix: str = "",
    ) -> None:
        self._session_factory = session_factory
        self._topic_prefix = topic_prefix
        self._tables = tables
        self._channel = notify_channel(service)
        self._service = service
        self._pending: list[tuple[str, str | None, CloudEvent]] = []
        self._facts: list[CloudEvent] = []
        self._session: AsyncSession | None = None
        self._transaction: DriverTransaction | None = None
        self._engine: AsyncEngine | None = getattr(session_factory, "kw", {}).get("bind")  # (a fake: no factory)
        self._claimed_by: str | None = None
        self._outcomes: dict[tuple[str, str], str] = {}
        self.seen: list[Any] = []

    @property
    def session(self) -> AsyncSession:
        if self._session is None:
            raise RuntimeError("unit of work used outside 'async with'")
        return self._session

    async def __aenter__(self) -> Self:
        if self._engine is None:
            # A session factory without an engine (a test's fake session): the session is the
            # transaction, as before the driver transaction.
            self._transaction = None
            self._session = self._session_factory()
        else:
            transaction = self._transaction = DriverTransaction(self._engine)
            self._session = self._session_factory(
                sync_session_class=DriverSession, info={DRIVER_TRANSACTION: transaction}
            )
        self._pending = []
        self._facts = []
        self._claimed_by = None
        self._outcomes = {}
        self.seen = []
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        session = self.session
        transaction = self._transaction
        try:
            if transaction is None or _session_used(session):
                try:
                    if session.in_transaction():
                        await session.rollback()
                finally:
                    await session.close()
        finally:
            self._session = None
            self._transaction = None
            if transaction is not None:
                await transaction.release()  # ROLLBACK if still open, the connection back to the pool
            self._pending = []
            self._facts = []
            self._outcomes = {}
            self.seen = []

    def track(self, aggregate: Any) -> None:
        """Remember an aggregate whose recorded events are collected at commit."""
        if not any(seen is aggregate for seen in self.seen):
            self.seen.append(aggregate)

    async def collect_events(self) -> None:
        """Turn the tracked aggregates' recorded events into ``publish`` calls; services override it."""

    def publish(self, event: CloudEvent, *, topic: str, key: str | None = None) -> None:
        """Queue an event for a logical topic; it is written to the outbox in this transaction at commit."""
        self._pending.append((self._topic_prefix + topic, key if key is not None else event.subject, event))

    def record_fact(self, *, type: str, subject: str | None, data: dict[str, Any]) -> None:
        """A change the service publishes no event for (a policy, a template, a credential): kept in
        the audit log at commit, in this transaction, like every published event."""
        self.record_event(new_event(type=type, service=self._service, subject=subject, data=data))

    def record_event(self, event: CloudEvent) -> None:
        """An event the service keeps to itself (not published), kept in the audit log at commit."""
        self._facts.append(event)

    @property
    def pending_events(self) -> list[CloudEvent]:
        return [event for _, _, event in self._pending]

    async def claim(self, *, consumer: str, event: CloudEvent) -> bool:
        """Record that ``consumer`` handles ``event`` in this transaction; False if it already did.

        The claim is a consumer's first statement: BEGIN (asyncpg's, no SQLAlchemy) and then the
        INSERT on the unit of work's connection. (Sending the two as one message, the values as constants,
        was measured in the eighth round: the server's parse and plan of the unprepared INSERT cost what the
        round trip saved; not kept.)"""
        claimed = await (await self._driver()).fetchval(
            f"INSERT INTO {self._tables.inbox.name} (consumer, event_id, event_type) VALUES ($1, $2, $3)"  # noqa: S608
            " ON CONFLICT (consumer, event_id) DO NOTHING RETURNING event_id",
            consumer,
            event.id,
            event.type,
        )
        self._claimed_by = consumer
        return claimed is not None

    async def claim_many(self, *, consumer: str, events: Sequence[CloudEvent]) -> set[str]:
        """``claim`` for several events in one statement: the ids of those not handled before."""
        if not events:
            return set()
        unique = {event.id: event for event in reversed(events)}
        conn = await self._driver()
        rows = await conn.fetch(
            f"INSERT INTO {self._tables.inbox.name} (consumer, event_id, event_type)"  # noqa: S608
            " SELECT $1, id, type FROM unnest($2::text[], $3::text[]) AS e(id, type)"
            " ON CONFLICT (consumer, event_id) DO NOTHING RETURNING event_id",
            consumer,
            [e.id for e in unique.values()],
            [e.type for e in unique.values()],
        )
        self._claimed_by = consumer
        return {row["event_id"] for row in rows}

    async def set_outcome(self, *, event: CloudEvent, outcome: str, consumer: str | None = None) -> None:
        """Record what handling ``event`` did, on the inbox row of ``consumer`` (default: the one that
        claimed it in this unit of work, so a handler never needs to know the consumer's name).

        Written at commit, in the statement that writes the outbox and audit rows (one round trip
        less per handled event); the last outcome set for an event wins, as a second UPDATE would."""
        consumer = consumer or self._claimed_by
        if consumer is None:
            raise RuntimeError("set_outcome: no consumer claimed an event in this unit of work")
        self._outcomes[(consumer, event.id)] = outcome[:2000]

    async def flush_events(self) -> None:
        """Write queued events to the outbox now (still inside the transaction).

        Raw asyncpg on the unit of work's connection and transaction: the audit
        rows, the outbox rows, the inbox outcomes set since the claim and the relay's NOTIFY go in
        one statement, each list as one array parameter; the audit rows through the database's
        ``audit_entry_append`` (it locks the chain and reads its head: no round trip of its own)."""
        audited = self._tables.audit is not None and bool(self._pending or self._facts)
        facts = [*self.pending_events, *self._facts]
        self._facts = []
        outcomes, self._outcomes = self._outcomes, {}
        if not self._pending and not audited and not outcomes:
            return
        if self._transaction is None or _session_used(self.session):
            await self.session.flush()  # the ORM's pending changes first, as autoflush did before
        conn = await self._driver()
        parts: list[str] = []
        args: list[Any] = []
        selected: list[str] = []
        if audited:
            assert self._tables.audit is not None
            if self._tables.audit.name != audit.TABLE:
                raise ValueError(f"the audit chain's functions are for {audit.TABLE}, not {self._tables.audit.name}")
            # The chain's lock, head and entries in the database's function, called by this statement.
            call, audit_args = audit.append_call(facts, service=self._service, first_param=1)
            selected.append(call)
            args.extend(audit_args)
        if outcomes:
            n = len(args)
            inbox = self._tables.inbox.name
            parts.append(
                f"UPDATE {inbox} SET outcome = o.outcome"  # noqa: S608
                f" FROM unnest(${n + 1}::text[], ${n + 2}::text[], ${n + 3}::text[]) AS o(consumer, event_id, outcome)"
                f" WHERE {inbox}.consumer = o.consumer AND {inbox}.event_id = o.event_id"
            )
            args.extend([[c for c, _ in outcomes], [e for _, e in outcomes], list(outcomes.values())])
        if self._pending:
            # The W3C trace context of the work that caused the events; the relay continues the trace.
            headers = json.dumps({**KAFKA_HEADERS, **current_trace_headers()})
            n = len(args)
            parts.append(
                f"INSERT INTO {self._tables.outbox.name} (topic, key, event_id, event_type, value, headers)"  # noqa: S608
                f" SELECT t, k, i, y, v, ${n + 6}::jsonb"
                f" FROM unnest(${n + 1}::text[], ${n + 2}::text[], ${n + 3}::text[], ${n + 4}::text[],"
                f" ${n + 5}::bytea[]) WITH ORDINALITY AS o(t, k, i, y, v, n) ORDER BY n"
            )
            args.extend(
                [
                    [topic for topic, _, _ in self._pending],
                    [key for _, key, _ in self._pending],
                    [event.id for _, _, event in self._pending],
                    [event.type for _, _, event in self._pending],
                    [event.to_json_bytes() for _, _, event in self._pending],
                    headers,
                    self._channel,
                ]
            )
            selected.append(f"pg_notify(${n + 7}, '')")
        final = f"SELECT {', '.join(selected or ['1'])}"
        ctes = ", ".join(f"w{i} AS ({part})" for i, part in enumerate(parts))
        await conn.execute(f"WITH {ctes} {final}" if ctes else final, *args)
        self._pending = []

    async def _driver(self) -> Any:
        """The asyncpg connection in this unit of work's transaction (begun if it was not)."""
        if self._transaction is None:
            return await driver_connection(self.session)  # a session without an engine (see __aenter__)
        return await self._transaction.driver()

    async def commit(self) -> None:
        """Write what is queued (``flush_events``) and commit.

        A consumer's unit of work whose only write at commit is its handler's outcome (nothing published,
        nothing audited: budgets', requests' and checklists' handlers that change their own rows), on the
        raw path (nothing ran on the session): the outcome's ``UPDATE`` and COMMIT in ONE round trip
        (``DriverTransaction.commit_with``, the values as constants). Everything else as before: the commit
        statement, then COMMIT (a large statement as constants costs the server more to parse and plan
        than the round trip saves: ``bench/uow_round_trips_cpu.py``)."""
        await self.collect_events()
        session = self.session
        transaction = self._transaction
        if (
            transaction is not None
            and len(self._outcomes) == 1
            and not self._pending
            and not (self._facts and self._tables.audit is not None)
            and not _session_used(session)
        ):
            ((consumer, event_id), outcome), *_ = self._outcomes.items()
            if "\x00" not in consumer + event_id + outcome:
                self._outcomes = {}
                self._facts = []
                await transaction.commit_with(
                    f"UPDATE {self._tables.inbox.name} SET outcome = {text_literal(outcome)}"  # noqa: S608
                    f" WHERE consumer = {text_literal(consumer)} AND event_id = {text_literal(event_id)}"
                )
                return
        await self.flush_events()
        if transaction is None or _session_used(session):
            await session.commit()  # flushes what is left, then COMMIT (DriverSession.commit)
        if transaction is not None:
            await transaction.commit()

    async def rollback(self) -> None:
        self._pending = []
        self._facts = []
        self._outcomes = {}
        self.seen = []
        session = self.session
        if self._transaction is None or _session_used(session):
            await session.rollback()
        if self._transaction is not None:
            await self._transaction.rollback()


def _session_used(session: AsyncSession) -> bool:
    """Whether anything ran on or was added to ``session`` (else it has nothing to flush, commit,
    roll back or close, and is left without a greenlet)."""
    sync = session.sync_session
    return sync.in_transaction() or bool(sync.identity_map) or bool(sync.new) or bool(sync.deleted)


UnitOfWorkFactory = Callable[[], UnitOfWork]
