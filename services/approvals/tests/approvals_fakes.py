"""A fake unit of work for the use-case tests: in-memory repositories, no I/O.

``FakeUnitOfWork`` subclasses the real ``ApprovalsUnitOfWork``, so ``collect_events`` (domain events
-> CloudEvents and timers) is the production code; only the repositories and the transaction are fake.
Repositories hand out copies, as a database would: a change is seen only once it is saved.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from backoffice_approvals.domain.budget import BudgetCheck
from backoffice_approvals.domain.chain import Chain
from backoffice_approvals.domain.people import Absence, Approver, Directory
from backoffice_approvals.domain.policy import PolicyDocument
from backoffice_approvals.models import messaging
from backoffice_approvals.service.uow import ApprovalsUnitOfWork
from backoffice_common.events import CloudEvent


class FakeChains:
    def __init__(self, track: Any) -> None:
        self.stored: dict[str, Chain] = {}
        self.blocked_reasons: dict[str, str | None] = {}
        self._track = track

    def _out(self, chain: Chain) -> Chain:
        loaded = copy.deepcopy(chain)
        loaded.events.clear()
        self._track(loaded)
        return loaded

    async def get(self, chain_id: str, *, lock: bool = False) -> Chain | None:
        chain = self.stored.get(chain_id)
        return self._out(chain) if chain else None

    async def of_task(self, task_id: str, *, lock: bool = False, open_only: bool = False) -> Chain | None:
        for chain in self.stored.values():
            for task in chain.tasks:
                if task.id == task_id:
                    return None if open_only and not task.is_open else self._out(chain)
        return None

    async def of_request(self, request_id: str, *, lock: bool = False) -> list[Chain]:
        found = sorted((c for c in self.stored.values() if c.request_id == request_id), key=lambda c: c.revision)
        return [self._out(c) for c in found]

    async def open_task_ids_of(self, user_id: str) -> list[str]:
        return [t.id for c in self.stored.values() for t in c.tasks if t.is_open and t.assignee.id == user_id]

    async def add(self, chain: Chain, *, notes: list[str], blocked_reason: str | None) -> None:
        self.stored[chain.id] = copy.deepcopy(chain)
        self.blocked_reasons[chain.id] = blocked_reason
        self._track(chain)

    async def save(self, chain: Chain, *, now: datetime) -> None:
        self.stored[chain.id] = copy.deepcopy(chain)

    def task(self, task_id: str) -> Any:
        return next(t for c in self.stored.values() for t in c.tasks if t.id == task_id)


class FakeDirectory:
    def __init__(self, directory: Directory) -> None:
        self.directory = directory

    async def load(self) -> Directory:
        return Directory(dict(self.directory.approvers))

    async def upsert(self, approvers: list[Approver]) -> None:
        self.directory.approvers.update({a.id: a for a in approvers})


class FakeAbsences:
    def __init__(self, absences: list[Absence]) -> None:
        self.stored = {a.id or str(i): a for i, a in enumerate(absences)}

    async def active_at(self, at: datetime) -> list[Absence]:
        return [a for a in self.stored.values() if a.cancelled_at is None and a.covers(at)]

    async def get(self, absence_id: str) -> Absence | None:
        return self.stored.get(absence_id)

    async def add(self, item: Absence, *, created_by: str) -> None:
        self.stored[item.id] = item


class FakePolicies:
    def __init__(self, policy: dict[str, Any] | None) -> None:
        self.versions = [PolicyDocument.model_validate(policy)] if policy else []

    async def active(self) -> tuple[int, PolicyDocument] | None:
        return (len(self.versions), self.versions[-1]) if self.versions else None


@dataclass
class FakeTimer:
    id: int
    kind: str
    ref_id: str
    fire_at: datetime
    fired_at: datetime | None = None
    attempts: int = 0
    last_error: str | None = None


class FakeTimers:
    def __init__(self) -> None:
        self.timers: list[FakeTimer] = []

    async def schedule(self, *, kind: str, ref_id: str, fire_at: datetime) -> None:
        if not any(t.kind == kind and t.ref_id == ref_id for t in self.timers):
            self.timers.append(FakeTimer(len(self.timers) + 1, kind, ref_id, fire_at))

    async def claim_due(self, *, now: datetime) -> FakeTimer | None:
        due = sorted((t for t in self.timers if t.fired_at is None and t.fire_at <= now), key=lambda t: t.fire_at)
        return due[0] if due else None

    async def close_for_task(self, task_id: str, *, now: datetime) -> None:
        for t in self.timers:
            if t.ref_id == task_id and t.kind in ("reminder", "escalation") and t.fired_at is None:
                t.fired_at = now

    async def mark_fired(self, timer_id: int, *, now: datetime) -> None:
        self.timers[timer_id - 1].fired_at = now

    async def postpone(self, timer_id: int, *, error: str, now: datetime, give_up_after: int) -> bool:
        timer = self.timers[timer_id - 1]
        timer.attempts += 1
        timer.last_error = error
        return timer.attempts < give_up_after

    async def next_due_at(self) -> datetime | None:
        return min((t.fire_at for t in self.timers if t.fired_at is None), default=None)

    def of(self, ref_id: str) -> list[tuple[str, datetime]]:
        return [(t.kind, t.fire_at) for t in self.timers if t.ref_id == ref_id]


class FakeBudgetChecks:
    def __init__(self) -> None:
        self.checks: dict[tuple[str, int], BudgetCheck] = {}

    async def lock_request(self, request_id: str) -> None:
        return None

    async def record(self, *, request_id: str, revision: int, check: BudgetCheck, event_id: str) -> bool:
        if (request_id, revision) in self.checks:
            return False
        self.checks[(request_id, revision)] = check
        return True

    async def get(self, request_id: str, revision: int) -> BudgetCheck | None:
        return self.checks.get((request_id, revision))


@dataclass
class FakePendingRow:
    id: str
    request_id: str
    revision: int
    snapshot: dict[str, Any]
    submitted_event: dict[str, Any]


class FakePending:
    def __init__(self) -> None:
        self.rows: dict[str, FakePendingRow] = {}

    async def add(
        self, *, id: str, request_id: str, revision: int, snapshot: dict[str, Any], submitted_event: dict[str, Any]
    ) -> None:
        if not any(r.request_id == request_id and r.revision == revision for r in self.rows.values()):
            self.rows[id] = FakePendingRow(id, request_id, revision, copy.deepcopy(snapshot), submitted_event)

    async def take(self, *, request_id: str, revision: int) -> FakePendingRow | None:
        for row in list(self.rows.values()):
            if row.request_id == request_id and row.revision == revision:
                return self.rows.pop(row.id)
        return None

    async def peek(self, pending_id: str) -> FakePendingRow | None:
        return self.rows.get(pending_id)

    async def take_by_id(self, pending_id: str) -> FakePendingRow | None:
        return self.rows.pop(pending_id, None)

    async def drop(self, *, request_id: str, up_to_revision: int) -> int:
        gone = [r.id for r in self.rows.values() if r.request_id == request_id and r.revision <= up_to_revision]
        for pending_id in gone:
            del self.rows[pending_id]
        return len(gone)


class FakeUnitOfWork(ApprovalsUnitOfWork):
    def __init__(
        self, *, directory: Directory, absences: list[Absence] | None = None, policy: dict[str, Any] | None = None
    ) -> None:
        super().__init__(None, tables=messaging, service="approvals")  # type: ignore[arg-type]
        self.chains = FakeChains(track=self.track)  # type: ignore[assignment]
        self.directory = FakeDirectory(directory)  # type: ignore[assignment]
        self.absences = FakeAbsences(absences or [])  # type: ignore[assignment]
        self.policies = FakePolicies(policy)  # type: ignore[assignment]
        self.timers = FakeTimers()  # type: ignore[assignment]
        self.budget_checks = FakeBudgetChecks()  # type: ignore[assignment]
        self.pending = FakePending()  # type: ignore[assignment]
        self.attribute_to()
        self.queued: list[tuple[str, CloudEvent]] = []
        self.published: list[tuple[str, CloudEvent]] = []
        self.committed = False

    async def __aenter__(self) -> FakeUnitOfWork:
        self.committed = False
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.rollback()

    def publish(self, event: CloudEvent, *, topic: str, key: str | None = None) -> None:
        self.queued.append((topic, event))

    async def commit(self) -> None:
        await self.collect_events()
        self.published.extend(self.queued)
        self.queued = []
        self.seen = []
        self.committed = True

    async def rollback(self) -> None:
        self.queued = []
        self.seen = []

    def events(self, type_: str | None = None) -> list[CloudEvent]:
        return [e for _, e in self.published if type_ is None or e.type == type_]

    def types(self) -> list[str]:
        return [e.type for _, e in self.published]
