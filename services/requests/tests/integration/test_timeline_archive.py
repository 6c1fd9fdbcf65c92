"""``archive-timeline``: long-finished requests' timelines go to the object store (the real S3Proxy) and leave
the table; the segment is hash-checked and gives the entries back."""

from __future__ import annotations

import argparse
import asyncio
import json

import asyncpg
import pytest
from requests_testkit import Service, assert_problem, auth, unique_user

from backoffice_common.objectstore import ObjectStore, TamperedObject
from backoffice_common.testing import object_store_settings, unique_prefix
from backoffice_requests import archive_timeline
from backoffice_requests.archive_timeline import archive_timelines, archived_entries, decode_segment
from backoffice_requests.settings import Settings


def _settings(service: Service) -> Settings:
    base: Settings = service.app.state.settings
    return Settings.model_validate({**base.model_dump(), **object_store_settings(f"{unique_prefix()}requests/")})


async def _conn(settings: Settings) -> asyncpg.Connection:
    return await asyncpg.connect(settings.database_url.replace("postgresql+asyncpg://", "postgresql://", 1))


async def _cancelled(service: Service, owner: str) -> str:
    request = await service.submitted(owner)
    rid = request["id"]
    r = await service.client.post(f"/requests/{rid}/cancel", json={"reason": "no longer needed"}, headers=auth(owner))
    assert r.status_code == 200, r.text
    await service.wait_timeline(rid, owner, "purchase_request.cancelled")
    return str(rid)


async def test_finished_old_timelines_are_archived_hash_checked_and_the_rest_stays(service: Service) -> None:
    settings = _settings(service)
    owner = unique_user("archie")
    old = [await _cancelled(service, owner) for _ in range(3)]
    recent = await _cancelled(service, owner)
    open_old = (await service.submitted(owner))["id"]  # not finished: never archived, however old
    entries_before = {rid: await service.timeline(rid, owner) for rid in old}
    recent_before = await service.timeline(recent, owner)
    conn = await _conn(settings)
    try:
        await conn.execute(
            "UPDATE purchase_request SET updated_at = '2024-03-15T10:00:00Z' WHERE id = ANY($1::uuid[])",
            [*old, open_old],
        )
    finally:
        await conn.close()
    store = ObjectStore.from_settings(settings)
    try:
        report = await archive_timelines(settings.database_url, store, after_days=365, batch=2)

        mine = [s for s in report.segments if s["key"].startswith("timeline/2024-03/")]
        assert sum(s["requests"] for s in mine) >= 3
        assert len(mine) >= 2  # batches of two requests: one segment each
        for rid in old:
            archived = await archived_entries(settings.database_url, store, rid)
            assert archived is not None
            assert [e["event_id"] for e in archived] == [e["event_id"] for e in entries_before[rid]]
            assert [e["event_type"] for e in archived] == [e["type"] for e in entries_before[rid]]
            gone = await service.client.get(f"/requests/{rid}/timeline", headers=auth(owner))
            problem = assert_problem(gone, 410)
            assert problem["type"].endswith("timeline-archived")
            assert problem["object_key"].startswith("timeline/2024-03/")
            assert len(problem["sha256"]) == 64
        assert await service.timeline(recent, owner) == recent_before
        assert len(await service.timeline(open_old, owner)) >= 1
        conn = await _conn(settings)
        try:
            assert (
                await conn.fetchval("SELECT count(*) FROM timeline_entry WHERE request_id = ANY($1::uuid[])", old) == 0
            )
            segment = await conn.fetchrow(
                "SELECT a.object_key, a.sha256, a.entries FROM timeline_archive a"
                " JOIN purchase_request r ON r.timeline_archive_id = a.id WHERE r.id = $1::uuid",
                old[0],
            )
        finally:
            await conn.close()
        assert (
            len(decode_segment(await store.get(segment["object_key"], sha256=segment["sha256"]))) == segment["entries"]
        )

        again = await archive_timelines(settings.database_url, store, after_days=365, batch=2)
        assert not [s for s in again.segments if s["key"].startswith("timeline/2024-03/")]

        # A segment changed in the store is refused on reading.
        await store.put(segment["object_key"], b"\x1f\x8b not the archive")
        with pytest.raises(TamperedObject):
            await archived_entries(settings.database_url, store, old[0])
    finally:
        await store.close()


async def test_the_command_prints_its_report_and_shows_an_archived_timeline(service: Service, capsys) -> None:
    settings = _settings(service)
    owner = unique_user("archer")
    rid = await _cancelled(service, owner)
    entries = await service.timeline(rid, owner)
    conn = await _conn(settings)
    try:
        await conn.execute("UPDATE purchase_request SET updated_at = '2023-07-01T00:00:00Z' WHERE id = $1::uuid", rid)
    finally:
        await conn.close()

    code = await asyncio.to_thread(
        archive_timeline.run, settings, argparse.Namespace(after_days=None, batch=500, show=None)
    )
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert any(s["key"].startswith("timeline/2023-07/") for s in report["segments"])

    code = await asyncio.to_thread(
        archive_timeline.run, settings, argparse.Namespace(after_days=None, batch=500, show=rid)
    )
    assert code == 0
    shown = json.loads(capsys.readouterr().out)
    assert [e["event_id"] for e in shown] == [e["event_id"] for e in entries]
