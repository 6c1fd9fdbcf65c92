"""What a closed order leaves in PostgreSQL once the retention windows have passed (issue 21's 40 KB goal).

    BACKOFFICE_PROFILE=test bash -c 'source deploy/env.sh && \
        .venv/bin/python tools/after_retention.py --orders 5000 [--archive-after-days 0]'

Run on databases grown by ``backoffice bench-data`` (the services stopped or idle). For every service it
applies the service's own retention rules with every window set to zero (as if all the orders were
older than every window: outbox, inbox, Idempotency-Keys, webhook ids, delivery bodies, fired timers),
archives the finished requests' timelines to the object store (``archive-timeline``) and every audited
service's audit log (``python -m backoffice_<service> archive-audit --after-days 0``, with the
service's environment of ``deploy/services.sh env``), runs ``VACUUM FULL`` so the files hold only
what is left (the databases side by side), and prints the bytes per order of every table. It
deletes data: only for benchmark databases.

``grow`` copies audit rows with their template's hashes and numbers shifted by a stride, so a grown
chain does not verify and ``archive-audit`` (which checks every segment it moves) would refuse it:
before archiving, the audit log of a database never archived is re-linked (numbered from 1 in its
order, each copy's ``request_id`` written into its content, every hash recomputed), with the
append-only trigger switched off for that transaction. Benchmark databases only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import asyncpg

from backoffice_approvals.jobs import retention as approvals_retention
from backoffice_approvals.settings import Settings as ApprovalsSettings
from backoffice_cli.bench_data import bytes_per_order
from backoffice_common.audit import GENESIS, hash_of
from backoffice_common.objectstore import ObjectStore
from backoffice_common.retention import Retention, messaging_retention, prune
from backoffice_common.testing import object_store_settings
from backoffice_notifications.jobs.housekeeping import retention as notifications_retention
from backoffice_notifications.settings import Settings as NotificationsSettings
from backoffice_requests.archive_timeline import archive_timelines
from backoffice_requests.jobs import retention as requests_retention
from backoffice_requests.settings import Settings as RequestsSettings

DATABASES = ("requests", "approvals", "notifications", "contracts", "insights", "budgets", "checklists")
AUDITED = ("requests", "approvals", "notifications", "contracts", "budgets", "checklists")
ZERO = timedelta(0)
ROOT = Path(__file__).resolve().parents[1]
PAGE = 20_000


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


async def relink_audit(conn: asyncpg.Connection) -> int:
    """Re-link a grown audit log so that it verifies (see above); the rows re-linked, 0 if none or archived."""
    if not await conn.fetchval("SELECT to_regclass('public.audit_entry') IS NOT NULL"):
        return 0
    if await conn.fetchval("SELECT to_regclass('public.audit_anchor') IS NOT NULL AND EXISTS (TABLE audit_anchor)"):
        return 0  # archived before: its anchors hold the hashes of the chain as it is
    async with conn.transaction():
        await conn.execute("ALTER TABLE audit_entry DISABLE TRIGGER USER")
        await conn.execute(
            "CREATE TEMP TABLE relinked (old_seq bigint PRIMARY KEY, seq bigint, content text, prev_hash text,"
            " hash text) ON COMMIT DROP"
        )
        seq, prev, last = 0, GENESIS, None
        while rows := await conn.fetch(
            "SELECT seq, request_id, content FROM audit_entry WHERE $1::bigint IS NULL OR seq > $1"
            " ORDER BY seq LIMIT $2",
            last,
            PAGE,
        ):
            records = []
            for row in rows:
                seq += 1
                content = row["content"]
                body = json.loads(content)
                if (
                    isinstance(body, dict)
                    and row["request_id"] is not None
                    and body.get("request_id") != row["request_id"]
                ):
                    content = json.dumps({**body, "request_id": row["request_id"]}, separators=(",", ":"))
                digest = hash_of(seq, prev, content)
                records.append((row["seq"], seq, content, prev, digest))
                prev = digest
            await conn.copy_records_to_table("relinked", records=records)
            last = rows[-1]["seq"]
        await conn.execute(
            "UPDATE audit_entry a SET seq = -r.seq, content = r.content, prev_hash = r.prev_hash, hash = r.hash"
            " FROM relinked r WHERE a.seq = r.old_seq"
        )
        await conn.execute("UPDATE audit_entry SET seq = -seq WHERE seq < 0")
        await conn.execute("ALTER TABLE audit_entry ENABLE TRIGGER USER")
    return seq


async def archive_audit(service: str) -> dict[str, object]:
    """``python -m backoffice_<service> archive-audit --after-days 0`` in the service's own environment."""
    lines = subprocess.run(
        ["bash", str(ROOT / "deploy" / "services.sh"), "env", service],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.splitlines()
    env = {**os.environ, **dict(line.split("=", 1) for line in lines if "=" in line)}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        *("-m", f"backoffice_{service}", "archive-audit", "--after-days", "0"),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    if process.returncode != 0:
        raise SystemExit(f"{service}: archive-audit failed ({process.returncode}): {err.decode()[-2000:]}")
    report: dict[str, object] = json.loads(out)
    return report


def say(name: str, started: float, what: str) -> None:
    print(f"{name}: {what} ({time.monotonic() - started:.0f} s)", flush=True)


async def apply(name: str, conn: asyncpg.Connection, archive_after_days: float) -> None:
    """One database's retention, archives and ``VACUUM FULL``; the databases are done side by side."""
    started = time.monotonic()
    for rule in rules(name):
        say(name, started, f"{rule.name} pruned {await prune(conn, rule)} rows")
    if name == "requests":
        base = os.environ["BACKOFFICE_PG_DSN_BASE"]
        store = ObjectStore.from_settings(RequestsSettings(**object_store_settings("bench/")))
        try:
            report = await archive_timelines(f"{base}/requests", store, after_days=archive_after_days, batch=2000)
        finally:
            await store.close()
        say(
            name,
            started,
            f"archived {report.entries} timeline entries of {report.requests} requests "
            f"in {len(report.segments)} segments, {report.gzip_bytes} bytes of gzip",
        )
    if name in AUDITED:
        say(name, started, f"audit log re-linked ({await relink_audit(conn)} rows)")
        audit = await archive_audit(name)
        segments = audit.get("segments")
        count = len(segments) if isinstance(segments, list) else segments
        say(name, started, f"audit log: {audit.get('rows')} rows archived in {count} segments")
    await conn.execute("VACUUM FULL")
    say(name, started, "VACUUM FULL done")


async def main(orders: int, archive_after_days: float) -> None:
    base = os.environ["BACKOFFICE_PG_DSN_BASE"]
    conns = {name: await asyncpg.connect(f"{base}/{name}") for name in DATABASES}
    try:
        await asyncio.gather(*(apply(name, conn, archive_after_days) for name, conn in conns.items()))
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
