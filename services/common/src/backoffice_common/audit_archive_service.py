"""What a service adds to archive its audit log (``backoffice_common.audit_archive``): a few lines each.

* ``AuditArchiveSettings``, mixed into the service's ``Settings``: the ``<SVC>_OBJECT_STORE_*`` settings
  and ``<SVC>_AUDIT_ARCHIVE_AFTER_DAYS`` (365).
* ``archive_audit_command(service)``, the ``archive-audit`` subcommand of ``python -m backoffice_<service>``:
  the rows of ``audit_entry`` recorded more than ``--after-days`` ago go to anchored, hash-checked segments
  (keys ``audit/<service>/...``), one transaction per ``--batch`` rows; ``--verify`` checks the whole chain,
  archived segments then live rows, instead.
* ``with_audit_archive(app, store)``: ``app.state.audit_archive``, so ``GET /admin/audit/chain``
  (``backoffice audit verify``) and ``GET /admin/audit`` read archived stretches back.
* ``close_store(store)``, a background job closing the store's client at shutdown.
* ``create_archiving_app(spec, settings)``: ``create_service_app`` with both, for a service whose object
  store serves only the archive.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from fastapi import FastAPI
from pydantic import Field

from backoffice_common.app import BackgroundJob, ServiceSpec, create_service_app
from backoffice_common.audit_archive import BrokenChain, archive_audit, verify_archived_chain
from backoffice_common.cli import Command
from backoffice_common.db import asyncpg_dsn
from backoffice_common.objectstore import OBJECT_STORE_ERRORS, ObjectStore, ObjectStoreError, ObjectStoreSettings


class AuditArchiveSettings(ObjectStoreSettings):
    audit_archive_after_days: float = Field(default=365.0, ge=0)
    """``archive-audit`` moves the audit log's rows recorded longer ago than this to the object store."""


def archive_audit_command(service: str) -> Command:
    """``python -m backoffice_<service> archive-audit [--after-days D] [--batch 10000] [--verify]``."""

    def add_arguments(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
        parser = sub.add_parser("archive-audit", help="move old stretches of the audit log to the object store")
        parser.add_argument("--after-days", type=float, default=None, help="default: AUDIT_ARCHIVE_AFTER_DAYS")
        parser.add_argument("--batch", type=int, default=10_000, help="rows per segment and transaction (10000)")
        parser.add_argument("--verify", action="store_true", help="verify archived and live rows instead")

    def run(settings: Any, args: argparse.Namespace) -> int:
        """Print the report as JSON. Exit 1 on a broken chain (named; nothing of it archived), 3 when the
        store failed (the batch in progress rolled back)."""
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
                return asdict(await archive_audit(conn, store, service=service, before=before, batch=args.batch))
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

    return Command(add_arguments, run)


def close_store(store: ObjectStore) -> BackgroundJob:
    """A background job that closes ``store``'s client at shutdown (it is made at first use)."""

    async def close_audit_archive_store(app: FastAPI) -> None:
        try:
            await asyncio.Event().wait()
        finally:
            await store.close()

    return close_audit_archive_store


def with_audit_archive(app: FastAPI, store: ObjectStore) -> FastAPI:
    """``GET /admin/audit/chain`` and ``GET /admin/audit`` read the archived stretches back from ``store``."""
    app.state.audit_archive = store
    return app


def create_archiving_app(spec: ServiceSpec, settings: Any) -> FastAPI:
    """The service's app reading its archived audit log back from its ``OBJECT_STORE_*`` store."""
    store = ObjectStore.from_settings(settings)
    spec.background_jobs = [*spec.background_jobs, close_store(store)]
    spec.problems = {**OBJECT_STORE_ERRORS, **spec.problems}  # 502 document-integrity, 503 store unavailable
    return with_audit_archive(create_service_app(spec, settings), store)


__all__ = [
    "AuditArchiveSettings",
    "archive_audit_command",
    "close_store",
    "create_archiving_app",
    "with_audit_archive",
]
