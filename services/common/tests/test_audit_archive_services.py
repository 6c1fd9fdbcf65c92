"""Every audited service archives its audit log: its migration adds the anchors (one Alembic head: ``upgrade``
to ``head`` fails otherwise), ``python -m backoffice_<service> archive-audit`` moves the old rows to the real
S3Proxy, and its app's ``GET /admin/audit/chain`` (``backoffice audit verify``) walks archived and live rows
while ``GET /admin/audit`` still returns a request's archived facts; a changed segment is a 502
``document-integrity`` and named by ``archive-audit --verify`` (real PostgreSQL and S3Proxy)."""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import asyncpg
import httpx
import pytest

from backoffice_cli import audit as audit_cli
from backoffice_common.audit import TABLE, insert_statement
from backoffice_common.db import make_engine, make_session_factory
from backoffice_common.events import new_event
from backoffice_common.settings import DEV_JWT_SECRET
from backoffice_common.testing import object_store_settings, private_database, unique_prefix

SERVICES = ["approvals", "notifications", "contracts", "budgets", "checklists"]


async def _record(dsn: str, service: str, request_id: str, count: int) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        for n in range(count):
            data = {"request_id": request_id, "n": n}
            event = new_event(type="demo.recorded", service=service, subject=request_id, data=data)
            async with conn.transaction():
                sql, args = await insert_statement(conn, TABLE, [event], service=service)
                await conn.execute(sql, *args)
    finally:
        await conn.close()


def _archive_audit(service: str, env: dict[str, str], *options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", f"backoffice_{service}", "archive-audit", *options],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("service", SERVICES)
async def test_the_service_archives_its_audit_log_and_verifies_across_archive_and_live_rows(service: str) -> None:
    package = f"backoffice_{service}"
    migrations = Path(importlib.import_module(package).__file__ or "").parent / "migrations"
    store_settings = object_store_settings(f"{unique_prefix()}{service}/")
    secret = os.environ.get("BACKOFFICE_DEV_JWT_SECRET", DEV_JWT_SECRET)
    async with private_database(migrations) as url:
        dsn = url.replace("postgresql+asyncpg://", "postgresql://", 1)
        request_id = str(uuid.uuid4())
        await _record(dsn, service, request_id, 5)
        prefix = f"{service.upper()}_"
        env = {f"{prefix}{key.upper()}": str(value) for key, value in store_settings.items()}
        env[f"{prefix}DATABASE_URL"] = url

        done = await asyncio.to_thread(_archive_audit, service, env, "--after-days", "0", "--batch", "2")
        assert done.returncode == 0, done.stderr
        report = json.loads(done.stdout)
        # the rows there were when the run started (1-5); each segment's own entry (6, 7, 8) stays live
        assert report["rows"] == 5
        assert [s["object_key"].split("-")[0] for s in report["segments"]] == [
            f"audit/{service}/1",
            f"audit/{service}/3",
            f"audit/{service}/5",
        ]
        await _record(dsn, service, request_id, 1)  # the chain goes on from its head
        verified = await asyncio.to_thread(_archive_audit, service, env, "--verify")
        assert verified.returncode == 0, verified.stderr
        assert (json.loads(verified.stdout)["archived_rows"], json.loads(verified.stdout)["broken"]) == (5, None)

        settings_class = importlib.import_module(f"{package}.settings").Settings
        settings = settings_class(database_url=url, jwt_secret=secret, **store_settings)
        app = importlib.import_module(f"{package}.main").create_app(settings)
        engine = make_engine(url, pool_size=2)
        app.state.session_factory = make_session_factory(engine)
        try:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
                [chain] = await audit_cli.verify(client, {service: ""})
                assert chain.broken is None
                assert chain.rows == 9  # 5 archived, 3 segment entries, 1 fact recorded since
                facts = (
                    await client.get(
                        "/admin/audit", params={"request_id": request_id}, headers=audit_cli.admin_headers()
                    )
                ).json()
            assert [json.loads(f["content"])["data"]["n"] for f in facts] == [0, 1, 2, 3, 4, 0]
            assert [f["seq"] for f in facts] == [1, 2, 3, 4, 5, 9]
            first = report["segments"][0]
            await app.state.audit_archive.put(first["object_key"], b"\x1f\x8b rewritten history")
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
                changed = await client.get("/admin/audit/chain", headers=audit_cli.admin_headers())
            assert changed.status_code == 502  # the service maps the store's errors
            assert changed.json()["type"].endswith("document-integrity")
        finally:
            await app.state.audit_archive.close()
            await engine.dispose()

        changed_verify = await asyncio.to_thread(_archive_audit, service, env, "--verify")
        assert changed_verify.returncode == 1  # the changed segment is named
        assert "was changed" in changed_verify.stdout
