"""``archive-audit``: the requests service's audit log goes to anchored segments in the object store (the real
S3Proxy), and ``backoffice audit verify`` still walks the whole chain, archived rows and live ones, and
``GET /admin/audit`` gives a request's facts, archived or live, as before."""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json

import asyncpg
import pytest
from requests_testkit import SECRET, Service, unique_user

from backoffice_cli import audit as audit_cli
from backoffice_common.objectstore import ObjectStore
from backoffice_requests import archive_audit
from backoffice_requests.settings import Settings


def _run(settings: Settings, **options: object) -> int:
    args = argparse.Namespace(**{"after_days": 0, "batch": 10_000, "verify": False, **options})
    return archive_audit.run(settings, args)


async def _facts(service: Service, request_id: str) -> list[dict[str, object]]:
    r = await service.client.get("/admin/audit", params={"request_id": request_id}, headers=audit_cli.admin_headers())
    assert r.status_code == 200, r.text
    facts: list[dict[str, object]] = r.json()
    return facts


async def test_the_audit_log_is_archived_and_verified_across_archive_and_live_rows(
    service: Service, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BACKOFFICE_DEV_JWT_SECRET", SECRET)
    settings: Settings = service.app.state.settings
    owner = unique_user("auditee")
    ids = [(await service.submitted(owner))["id"] for _ in range(3)]
    before = [await _facts(service, rid) for rid in ids]
    assert all(before)

    assert await asyncio.to_thread(_run, settings, batch=4) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["rows"] >= 3
    assert all(s["object_key"].startswith("audit/requests/") for s in report["segments"])
    conn = await asyncpg.connect(settings.database_url.replace("postgresql+asyncpg://", "postgresql://", 1))
    try:
        first_live = await conn.fetchval("SELECT min(seq) FROM audit_entry")
        anchored = await conn.fetchval("SELECT max(seq_to) FROM audit_anchor")
    finally:
        await conn.close()
    assert first_live == anchored + 1  # the archived rows left the table; the chain's head stayed
    # a request's facts, archived or live, as before archiving (JSON and CSV)
    assert [await _facts(service, rid) for rid in ids] == before
    assert any(fact["seq"] <= anchored for facts in before for fact in facts)
    exported = await service.client.get(
        "/admin/audit", params={"request_id": ids[0], "format": "csv"}, headers=audit_cli.admin_headers()
    )
    assert exported.status_code == 200
    assert [int(row["seq"]) for row in csv.DictReader(io.StringIO(exported.text))] == [f["seq"] for f in before[0]]

    [chain] = await audit_cli.verify(service.client, {"requests": ""})
    assert chain.broken is None
    assert chain.rows >= anchored + 1
    pages, after = [], 0
    while page := (
        await service.client.get(
            "/admin/audit/chain", params={"after_seq": after, "limit": 3}, headers=audit_cli.admin_headers()
        )
    ).json():
        pages += page
        after = page[-1]["seq"]
    assert [r["seq"] for r in pages] == list(range(1, chain.rows + 1))  # pages of 3 cross segments and live rows
    assert await asyncio.to_thread(_run, settings, verify=True) == 0
    verified = json.loads(capsys.readouterr().out)
    assert (verified["archived_rows"], verified["broken"]) == (anchored, None)

    first = report["segments"][0]
    store = ObjectStore.from_settings(settings)
    try:
        original = await store.get(first["object_key"], sha256=first["sha256"])
        await store.put(first["object_key"], original + b"\n")
        [tampered] = await audit_cli.verify(service.client, {"requests": ""})
        assert tampered.broken is not None
        assert tampered.broken.seq == first["seq_from"]
        assert "failed its integrity check" in tampered.broken.reason
        assert await asyncio.to_thread(_run, settings, verify=True) == 1
        assert "was changed" in capsys.readouterr().out
    finally:
        await store.put(first["object_key"], original)
        await store.close()
