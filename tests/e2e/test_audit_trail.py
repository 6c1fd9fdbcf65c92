"""A request's audit trail gathered across the services, and a row changed by the database superuser
found by `backoffice audit verify`."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path

import asyncpg
import httpx
import pytest
from platform_kit import JWT_SECRET, Platform

from backoffice_cli import audit as audit_cli
from backoffice_cli.client import Cast
from backoffice_cli.client import Platform as Client

BACKOFFICE = Path(sys.executable).parent / "backoffice"


def dsn_of(platform: Platform, service: str) -> str:
    url = platform.services[service].env[f"{service.upper()}_DATABASE_URL"]
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def test_a_requests_audit_spans_the_services_and_a_row_changed_by_the_superuser_breaks_the_chain(
    platform: Platform, client: Client, cast: Cast, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BACKOFFICE_DEV_JWT_SECRET", JWT_SECRET)
    vendor = await client.create_vendor(cast)
    draft = await client.create_draft(cast, client.draft(vendor, cast, quantity=1, unit_price="500.00"))
    request_id = draft["id"]
    await client.submit(cast, request_id)
    task = await client.task_for(cast.manager, request_id)
    await client.decide(cast.manager, task["id"], "approved")
    await client.wait_status(cast.requester, request_id, "vendor_notified")
    services = {name: platform.url(name) for name in audit_cli.AUDITED}
    async with httpx.AsyncClient(timeout=60) as http:

        async def gathered() -> list[dict[str, object]] | None:
            facts = await audit_cli.export(http, services, request_id)
            return facts if any(f["type"] == "vendor.notified" for f in facts) else None

        facts = await client.eventually("notifications recorded vendor.notified", gathered)
        kinds = {(f["service"], f["type"]) for f in facts}
        assert {
            ("requests", "purchase_request.drafted"),
            ("requests", "purchase_request.submitted"),
            ("approvals", "approval.task_assigned"),
            ("approvals", "approval.task_decided"),
            ("approvals", "purchase_request.approved"),
            ("budgets", "budget.checked"),
            ("notifications", "vendor.notified"),
        } <= kinds, kinds
        assert all(f["request_id"] == request_id for f in facts)
        table = list(csv.DictReader(io.StringIO(audit_cli.as_csv(facts))))
        assert [row["type"] for row in table] == [f["type"] for f in facts]
        assert all(r.broken is None for r in await audit_cli.verify(http, services))

        submitted = next(f for f in facts if f["type"] == "purchase_request.submitted")
        conn = await asyncpg.connect(dsn_of(platform, "requests"))
        try:
            await conn.execute("SET session_replication_role = replica")  # what only a superuser may do
            original = await conn.fetchval("SELECT content FROM audit_entry WHERE seq = $1", submitted["seq"])
            await conn.execute(
                "UPDATE audit_entry SET content = replace(content, '\"500.00\"', '\"5.00\"') WHERE seq = $1",
                submitted["seq"],
            )
            reports = {r.service: r for r in await audit_cli.verify(http, services)}
            broken = reports["requests"].broken
            assert broken is not None
            assert broken.seq == submitted["seq"]
            assert all(r.broken is None for name, r in reports.items() if name != "requests")
            command = [str(BACKOFFICE), "audit", "verify", *(f"--service={n}={u}" for n, u in services.items())]
            done = subprocess.run(command, capture_output=True, text=True, timeout=120)
            assert done.returncode == 1, done.stdout + done.stderr
            assert f"requests: BROKEN at seq {submitted['seq']}" in done.stdout
            await conn.execute("UPDATE audit_entry SET content = $1 WHERE seq = $2", original, submitted["seq"])
        finally:
            await conn.close()
        assert all(r.broken is None for r in await audit_cli.verify(http, services))
