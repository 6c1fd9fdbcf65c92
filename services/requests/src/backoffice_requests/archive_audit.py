"""``python -m backoffice_requests archive-audit``: the audit log's old stretches, moved to the object store.

The rows of ``audit_entry`` recorded more than ``--after-days`` (``REQUESTS_AUDIT_ARCHIVE_AFTER_DAYS``, 365)
ago go to anchored, hash-checked segments (``backoffice_common.audit_archive``; the same
``REQUESTS_OBJECT_STORE_*`` as archived timelines, keys ``audit/requests/...``), one transaction per
``--batch`` rows; ``--verify`` checks the whole chain, archived segments then live rows, instead.
``GET /admin/audit/chain`` (``backoffice audit verify``) reads archived stretches back the same way.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from dataclasses import asdict
from datetime import UTC, datetime, timedelta

import asyncpg

from backoffice_common.audit_archive import BrokenChain, archive_audit, verify_archived_chain
from backoffice_common.db import asyncpg_dsn
from backoffice_common.objectstore import ObjectStore, ObjectStoreError
from backoffice_requests.settings import Settings

SERVICE = "requests"


def add_arguments(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("archive-audit", help="move old stretches of the audit log to the object store")
    parser.add_argument("--after-days", type=float, default=None, help="default: AUDIT_ARCHIVE_AFTER_DAYS")
    parser.add_argument("--batch", type=int, default=10_000, help="rows per segment and transaction (10000)")
    parser.add_argument("--verify", action="store_true", help="verify archived and live rows instead")


def run(settings: Settings, args: argparse.Namespace) -> int:
    """Print the report as JSON. Exit 1 on a broken chain (named; nothing of it archived), 3 when the store
    failed (the batch in progress rolled back)."""
    after_days = args.after_days if args.after_days is not None else settings.audit_archive_after_days
    if args.batch < 1 or after_days < 0:
        print("--batch must be at least 1 and --after-days at least 0", file=sys.stderr)
        return 2

    async def _run() -> dict[str, object]:
        store = ObjectStore.from_settings(settings)
        conn = await asyncpg.connect(asyncpg_dsn(settings.database_url))
        try:
            if args.verify:
                return asdict(await verify_archived_chain(conn, store))
            before = datetime.now(UTC) - timedelta(days=after_days)
            return asdict(await archive_audit(conn, store, service=SERVICE, before=before, batch=args.batch))
        finally:
            await conn.close()
            await store.close()

    try:
        result = asyncio.run(_run())
    except BrokenChain as exc:
        print(str(exc), file=sys.stderr)
        return 1
    except ObjectStoreError as exc:
        print(f"stopped, the batch in progress was rolled back: {exc}", file=sys.stderr)
        return 3
    print(json.dumps(result, indent=2, default=str))
    return 1 if result.get("broken") else 0


__all__ = ["add_arguments", "run"]
