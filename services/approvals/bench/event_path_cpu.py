"""CPU of approvals' event path, SQLAlchemy Core against raw asyncpg (not a test).

One operation: a request's three consumed events as the consumer hands them to its handlers
(``consumers.build_handlers``, each in an ``ApprovalsUnitOfWork`` of its own, committed): ``budget.checked``
(the request's lock, the check recorded, no submission waiting), ``purchase_request.submitted`` (the lock,
the check read, the request's chains under lock, the active policy, the directory and absences, the
chain and its tasks added, their timers, the outbox and audit rows) and ``purchase_request.cancelled``
(the lock, the waiting submissions dropped, the chains under lock, the chain withdrawn and saved, the
timers closed). A stored policy (the built-in one) and a directory of 60 approvers.

Run with this checkout's repositories (raw asyncpg through ``driver_connection``; the policy parsed once
per version) and with the Core statements they replaced (``Core*`` below, copied from the previous
version), alternated round by round in the same run. Before timing, one request through each path: the
chains, tasks, checks, timers and published events must be equal but for ids and times. Reported: client
CPU (this process) and backend CPU (``/proc`` of the connection's PostgreSQL process) per event, medians.

    BACKOFFICE_PROFILE=test source deploy/env.sh && .venv/bin/python services/approvals/bench/event_path_cpu.py
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
import uuid
from datetime import datetime
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any, Self

from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

import backoffice_approvals
from backoffice_approvals.consumers import build_handlers
from backoffice_approvals.domain.budget import BudgetCheck
from backoffice_approvals.domain.chain import Chain
from backoffice_approvals.domain.policy import PolicyDocument, builtin_policy
from backoffice_approvals.models import (
    approval_chain,
    approval_task,
    approval_timer,
    approver,
    budget_check,
    messaging,
    pending_route,
    policy,
)
from backoffice_approvals.repository.budgets import BudgetCheckRepository, PendingRouteRepository
from backoffice_approvals.repository.chains import ChainRepository
from backoffice_approvals.repository.policies import PolicyRepository
from backoffice_approvals.service.uow import ApprovalsUnitOfWork
from backoffice_approvals.settings import Settings
from backoffice_common.db import make_session_factory
from backoffice_common.events import CloudEvent, new_event
from backoffice_common.testing import private_database

TICKS = os.sysconf("SC_CLK_TCK")
MIGRATIONS = Path(backoffice_approvals.__file__).parent / "migrations"
EVENTS_PER_OP = 3
SETTINGS = Settings(budget_check_wait_seconds=60)


def backend_cpu(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


# --- the Core statements of the previous version (services/approvals/src/.../repository at 8b3c47d) ---


class CoreChecks(BudgetCheckRepository):
    async def lock_request(self, request_id: str) -> None:
        await self.session.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(request_id, 17))))

    async def record(self, *, request_id: str, revision: int, check: BudgetCheck, event_id: str) -> bool:
        values = check.as_dict()
        stmt = (
            pg_insert(budget_check)
            .values(request_id=request_id, revision=revision, event_id=event_id, **values)
            .on_conflict_do_nothing(index_elements=["request_id", "revision"])
            .returning(budget_check.c.request_id)
        )
        return (await self.session.execute(stmt)).first() is not None

    async def get(self, request_id: str, revision: int) -> BudgetCheck | None:
        query = select(budget_check).where(budget_check.c.request_id == request_id, budget_check.c.revision == revision)
        row = (await self.session.execute(query)).first()
        return BudgetCheck.from_dict(dict(row._mapping)) if row else None


class CorePending(PendingRouteRepository):
    async def take(self, *, request_id: str, revision: int) -> Any:
        stmt = (
            delete(pending_route)
            .where(pending_route.c.request_id == request_id, pending_route.c.revision == revision)
            .returning(pending_route)
        )
        return (await self.session.execute(stmt)).first()

    async def drop(self, *, request_id: str, up_to_revision: int) -> int:
        stmt = (
            delete(pending_route)
            .where(pending_route.c.request_id == request_id, pending_route.c.revision <= up_to_revision)
            .returning(pending_route.c.id)
        )
        return len((await self.session.execute(stmt)).all())


class CorePolicies(PolicyRepository):
    async def active(self) -> tuple[int, PolicyDocument] | None:
        row = (await self.session.execute(select(policy).order_by(policy.c.version.desc()).limit(1))).first()
        if row is None:
            return None
        return row.version, PolicyDocument.model_validate(row.document)


class CoreChains(ChainRepository):
    async def of_request(self, request_id: str, *, lock: bool = False) -> list[Chain]:
        query = (
            select(approval_chain.c.id)
            .where(approval_chain.c.request_id == request_id)
            .order_by(approval_chain.c.revision)
        )
        if lock:
            query = query.with_for_update()
        chains = [await self.get(row.id) for row in (await self.session.execute(query)).all()]
        return [c for c in chains if c is not None]

    async def add(self, chain: Chain, *, notes: list[str], blocked_reason: str | None) -> None:
        await self.session.execute(
            approval_chain.insert().values(
                id=chain.id,
                request_id=chain.request_id,
                revision=chain.revision,
                requester=chain.requester.as_dict(),
                snapshot=chain.snapshot,
                steps=[s.as_dict() for s in chain.steps],
                notes=notes,
                policy_version=chain.policy_version,
                reminder_share=Decimal(str(chain.reminder_share)),
                status=chain.status,
                blocked_reason=blocked_reason,
            )
        )
        await self._save_tasks(chain)
        self._track(chain)

    async def save(self, chain: Chain, *, now: datetime) -> None:
        await self.session.execute(
            update(approval_chain).where(approval_chain.c.id == chain.id).values(status=chain.status, updated_at=now)
        )
        await self._save_tasks(chain)


class CoreUow(ApprovalsUnitOfWork):
    async def __aenter__(self) -> Self:
        await super().__aenter__()
        self.chains = CoreChains(self.session, track=self.track)
        self.policies = CorePolicies(self.session)
        self.budget_checks = CoreChecks(self.session)
        self.pending = CorePending(self.session)
        return self


# --- the run ---


def events(request_id: str) -> list[CloudEvent]:
    requester = {"id": "user-31", "name": "User 31", "email": "user31@x.test", "department": "dept-1"}
    snap = {
        "request_id": request_id, "number": "PR-1", "revision": 1, "title": "Laptops", "description": "",
        "requester": requester, "department": "dept-1", "cost_center": "CC-100", "category": "hardware",
        "vendor_id": "v-1", "currency": "EUR", "total": "12000.00", "needed_by": "2027-01-15",
        "lines": [{"line_no": 1, "description": "Thing", "quantity": "1", "unit": "pcs", "unit_price": "12000.00",
                   "amount": "12000.00"}],
    }  # fmt: skip
    checked = {
        "schema_version": 1, "request_id": request_id, "revision": 1, "status": "within_budget", "reason": "",
        "currency": "EUR", "over_by": "0", "owner": {"id": "user-2", "name": "User 2", "email": "user2@x.test"},
    }  # fmt: skip
    actor = {"id": "user-31", "name": "User 31", "role": "requester"}
    submitted = {"schema_version": 1, "actor": actor, "request": snap, "submitted_at": "2026-11-27T10:00:00Z"}
    cancelled = {"schema_version": 1, "actor": actor, "request_id": request_id, "revision": 1, "reason": "bench"}
    return [
        new_event(type="budget.checked", service="budgets", subject=request_id, data=checked),
        new_event(type="purchase_request.submitted", service="requests", subject=request_id, data=submitted),
        new_event(type="purchase_request.cancelled", service="requests", subject=request_id, data=cancelled),
    ]


async def seed(factory: async_sessionmaker[AsyncSession]) -> None:
    people = [
        {
            "id": f"user-{i}", "name": f"User {i}", "email": f"user{i}@x.test",
            "manager_id": f"user-{i // 5}" if i else None, "department": f"dept-{i % 6}",
            "head_of": [f"dept-{i}"] if i < 6 else [], "groups": ["buyers"] if i % 7 == 0 else [],
            "limit_amount": Decimal("5000.0000") if i % 3 == 0 else None,
            "limit_currency": "EUR" if i % 3 == 0 else None, "active": True, "language": "de" if i % 2 else "en",
        }
        for i in range(60)
    ]  # fmt: skip
    document = builtin_policy(
        base_currency=SETTINGS.base_currency,
        head_threshold=SETTINGS.default_head_threshold,
        due_seconds=SETTINGS.default_due_seconds,
    ).model_dump(mode="json")
    async with factory() as session, session.begin():
        await session.execute(insert(approver), people)
        await session.execute(insert(policy).values(name="bench", document=document, created_by="bench"))


async def one_request(uow_of: Any, request_id: str) -> list[str]:
    handlers = build_handlers(SETTINGS)
    handled = events(request_id)
    for event in handled:
        async with uow_of() as uow:
            await handlers[event.type](event, uow)
            await uow.commit()
    return [request_id]


async def observed(factory: async_sessionmaker[AsyncSession], request_id: str) -> dict[str, Any]:
    """What a request left behind, its ids replaced by placeholders, times left out."""
    async with factory() as session:
        chains = (await session.execute(select(approval_chain).where(approval_chain.c.request_id == request_id))).all()
        t = approval_task.c
        tasks = (
            await session.execute(select(approval_task).where(t.request_id == request_id).order_by(t.step_index))
        ).all()
        names = [request_id, *(c.id for c in chains), *(r.id for r in tasks)]
        timers = (
            await session.execute(
                select(approval_timer.c.kind, approval_timer.c.fired_at.is_(None))
                .where(approval_timer.c.ref_id.in_([r.id for r in tasks]))
                .order_by(approval_timer.c.kind)
            )
        ).all()
        checks = (await session.execute(select(budget_check).where(budget_check.c.request_id == request_id))).all()
        o = messaging.outbox.c
        out = (await session.execute(select(o.event_type, o.value).where(o.key == request_id).order_by(o.id))).all()
    skip = {"created_at", "updated_at", "received_at", "event_id", "due_at", "remind_at", "decided_at"}

    def same(rows: Any) -> Any:
        text_ = json.dumps([{k: v for k, v in r._mapping.items() if k not in skip} for r in rows], default=str)
        for i, name in enumerate(names):
            text_ = text_.replace(name, f"<{i}>")
        return json.loads(text_)

    published = []
    for row in out:
        value = row.value.decode()
        for i, name in enumerate(names):
            value = value.replace(name, f"<{i}>")
        data = json.loads(value)["data"]
        data.pop("due_at", None)
        published.append((row.event_type, data))
    return {
        "chains": same(chains),
        "tasks": same(tasks),
        "timers": [tuple(r) for r in timers],
        "checks": same(checks),
        "published": published,
    }


async def run(n: int, rounds: int) -> None:
    async with private_database(MIGRATIONS) as url:
        engine = create_async_engine(url, pool_size=1, max_overflow=0)
        factory = make_session_factory(engine)
        await seed(factory)
        async with factory() as session:
            pid = int((await session.execute(text("SELECT pg_backend_pid()"))).scalar_one())
        kw: dict[str, Any] = {"tables": messaging, "service": "approvals"}
        variants = {"core": partial(CoreUow, factory, **kw), "raw": partial(ApprovalsUnitOfWork, factory, **kw)}
        seen = {}
        for how, uow_of in variants.items():
            rid = str(uuid.uuid4())
            await one_request(uow_of, rid)
            seen[how] = await observed(factory, rid)
        for key in seen["core"]:
            assert seen["core"][key] == seen["raw"][key], (key, seen["core"][key], seen["raw"][key])
        assert seen["raw"]["tasks"], "no task"
        assert len(seen["raw"]["published"]) >= 2, seen["raw"]["published"]
        results: dict[str, tuple[list[float], list[float]]] = {k: ([], []) for k in variants}
        for uow_of in variants.values():  # warm-up
            for _ in range(20):
                await one_request(uow_of, str(uuid.uuid4()))
        for _ in range(rounds):
            for how, uow_of in variants.items():
                c0, s0 = time.process_time(), backend_cpu(pid)
                for _ in range(n):
                    await one_request(uow_of, str(uuid.uuid4()))
                client, server = results[how]
                client.append((time.process_time() - c0) / (n * EVENTS_PER_OP) * 1000)
                server.append((backend_cpu(pid) - s0) / (n * EVENTS_PER_OP) * 1000)
        await engine.dispose()
    load = os.getloadavg()
    print(f"approvals event path, {rounds} x {n} requests ({EVENTS_PER_OP} events each) per variant, alternated;")
    print(f"load {load[0]:.2f}/{load[1]:.2f}; the same chains, tasks, checks, timers and events from both (checked)")
    print(f"{'per event':14}{'client ms':>10}{'backend ms':>11}")
    for how, (client, server) in results.items():
        print(f"  {how:12}{statistics.median(client):10.3f}{statistics.median(server):11.3f}")
    core, raw = results["core"], results["raw"]
    ratio_c = statistics.median(raw[0]) / statistics.median(core[0])
    ratio_s = statistics.median(raw[1]) / statistics.median(core[1]) if statistics.median(core[1]) else float("nan")
    print(f"  raw/core client {ratio_c:.2f}, backend {ratio_s:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(run(args.n, args.rounds))


if __name__ == "__main__":
    main()
