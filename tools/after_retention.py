"""What a closed order leaves in PostgreSQL once the retention windows have passed (issue 21's 40 KB goal).

    BACKOFFICE_PROFILE=test bash -c 'source deploy/env.sh && \
        .venv/bin/python tools/after_retention.py --orders 5000 [--archive-after-days 0]'

Run on databases grown by ``backoffice bench-data`` (the services stopped or idle). For every service it
applies the service's own retention rules with every window set to zero (as if all the orders were
older than every window: outbox, inbox, Idempotency-Keys, webhook ids, delivery bodies, fired timers),
archives the finished requests' timelines to the object store (``archive-timeline``), runs ``VACUUM
FULL`` so the files hold only what is left, and prints the bytes per order of every table. It
deletes data: only for benchmark databases.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from datetime import timedelta

import asyncpg

from backoffice_approvals.jobs import retention as approvals_retention
from backoffice_approvals.settings import Settings as ApprovalsSettings
from backoffice_cli.bench_data import bytes_per_order
from backoffice_common.objectstore import ObjectStore
from backoffice_common.retention import Retention, messaging_retention, prune
from backoffice_common.testing import object_store_settings
from backoffice_notifications.jobs.housekeeping import retention as notifications_retention
from backoffice_notifications.settings import Settings as NotificationsSettings
from backoffice_requests.archive_timeline import archive_timelines
from backoffice_requests.jobs import retention as requests_retention
from backoffice_requests.settings import Settings as RequestsSettings

DATABASES = ("requests", "approvals", "notifications", "contracts", "insights", "budgets", "checklists")
ZERO = timedelta(0)


def rules(database: str) -> list[Retention]:
    common = list(messaging_retention(outbox_keep=ZERO, inbox_keep=ZERO))
    if database == "requests":
        return [*common, *requests_retention(RequestsSettings(idempotency_retention_hours=1e-9))]
    if database == "approvals":
        return [*common, *approvals_retention(ApprovalsSettings(fired_timer_retention_days=1e-9))]
    if database == "notifications":
        return [
            *common,
            *notifications_retention(
                NotificationsSettings(delivery_body_retention_days=1e-9, webhook_tolerance_seconds=1)
            ),
        ]
    return common


async def main(orders: int, archive_after_days: float) -> None:
    base = os.environ["BACKOFFICE_PG_DSN_BASE"]
    conns = {name: await asyncpg.connect(f"{base}/{name}") for name in DATABASES}
    try:
        for name, conn in conns.items():
            for rule in rules(name):
                pruned = await prune(conn, rule)
                print(f"{name}: {rule.name} pruned {pruned} rows", flush=True)
        store = ObjectStore.from_settings(RequestsSettings(**object_store_settings("bench/")))
        try:
            report = await archive_timelines(f"{base}/requests", store, after_days=archive_after_days, batch=2000)
        finally:
            await store.close()
        print(
            f"requests: archived {report.entries} timeline entries of {report.requests} requests "
            f"in {len(report.segments)} segments, {report.gzip_bytes} bytes of gzip",
            flush=True,
        )
        for name, conn in conns.items():
            await conn.execute("VACUUM FULL")
            print(f"{name}: VACUUM FULL done", flush=True)
        sizes = await bytes_per_order(conns, orders)
        total = sum(sizes.values())
        print(f"\n| table | bytes per order |\n|---|---|\n| **all** | **{total:,.0f}** |")
        for table, size in sizes.items():
            if size >= 50:
                print(f"| `{table}` | {size:,.0f} |")
    finally:
        for conn in conns.values():
            await conn.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, required=True, help="the orders bench-data grew the databases to")
    parser.add_argument("--archive-after-days", type=float, default=0.0)
    args = parser.parse_args()
    asyncio.run(main(args.orders, args.archive_after_days))
