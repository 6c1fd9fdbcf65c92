"""``archive-timeline``: long-finished requests' timelines go to the object store (the real S3Proxy) and leave
the table; the segment is hash-checked and gives the entries back, through the API as well."""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import uuid
from typing import Any

import asyncpg
import httpx
import pytest
from requests_testkit import Service, assert_problem, auth, unique_user

from backoffice_common.events import new_event
from backoffice_common.objectstore import ObjectStore, TamperedObject
from backoffice_common.testing import eventually, publish_events
from backoffice_requests import archive_timeline
from backoffice_requests.archive_timeline import archive_timelines, archived_entries, decode_segment
from backoffice_requests.settings import Settings


def _settings(service: Service) -> Settings:
    """The service's own settings: the command archives to the store the running service reads from."""
    settings: Settings = service.app.state.settings
    return settings


async def _timeline(service: Service, rid: str, owner: str, language: str = "en") -> httpx.Response:
    return await service.client.get(f"/requests/{rid}/timeline", headers={**auth(owner), "Accept-Language": language})


async def _age(settings: Settings, rids: list[str], when: str) -> None:
    conn = await _conn(settings)
    try:
        await conn.execute(
            "UPDATE purchase_request SET updated_at = $2::text::timestamptz WHERE id = ANY($1::uuid[])", rids, when
        )
    finally:
        await conn.close()


async def _segment_of(settings: Settings, rid: str) -> dict[str, Any]:
    conn = await _conn(settings)
    try:
        row = await conn.fetchrow(
            "SELECT a.object_key, a.sha256, a.entries FROM timeline_archive a"
            " JOIN purchase_request r ON r.timeline_archive_id = a.id WHERE r.id = $1::uuid",
            rid,
        )
    finally:
        await conn.close()
    return dict(row)


async def _archive(service: Service, rid: str, month: str) -> dict[str, Any]:
    """Age the finished request ``rid`` into ``month`` and archive it (alone in its month's segment)."""
    settings = _settings(service)
    await _age(settings, [rid], f"{month}-10T12:00:00Z")
    store = ObjectStore.from_settings(settings)
    try:
        await archive_timelines(settings.database_url, store, after_days=365)
    finally:
        await store.close()
    return await _segment_of(settings, rid)


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
    assert (await _timeline(service, recent, owner)).headers["Timeline-Source"] == "live"
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
            read_back = await _timeline(service, rid, owner)
            assert read_back.status_code == 200, read_back.text
            assert read_back.headers["Timeline-Source"] == "archive"
            assert read_back.json() == entries_before[rid]  # the same answer as before, from the archive
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


async def test_an_archived_timeline_reads_in_the_readers_language_and_only_to_those_who_may_see_it(
    service: Service,
) -> None:
    owner = unique_user("alte")
    rid = await _cancelled(service, owner)
    german_before = (await _timeline(service, rid, owner, "de")).json()
    await _archive(service, rid, "2022-04")

    german = await _timeline(service, rid, owner, "de-DE,de;q=0.9")

    assert german.status_code == 200, german.text
    assert german.headers["Content-Language"] == "de"
    assert german.headers["Timeline-Source"] == "archive"
    assert german.json() == german_before
    english = await service.timeline(rid, owner)
    assert any(de["note"] != en["note"] for de, en in zip(german.json(), english, strict=True))
    stranger = await _timeline(service, rid, unique_user("stranger"))
    assert_problem(stranger, 404)


async def test_an_event_that_comes_after_the_archiving_follows_the_archived_entries(service: Service) -> None:
    owner = unique_user("spaet")
    rid = await _cancelled(service, owner)
    before = await service.timeline(rid, owner)
    await _archive(service, rid, "2022-08")
    late = new_event(
        type="contract.expired",
        service="contracts",
        subject=rid,
        data={"schema_version": 1, "request_id": rid, "contract_id": str(uuid.uuid4())},
    )
    await publish_events(service.bootstrap, f"{service.prefix}backoffice.contracts", [late])

    async def with_late_entry() -> list[dict[str, Any]] | None:
        r = await _timeline(service, rid, owner)
        entries: list[dict[str, Any]] = r.json()
        return entries if r.headers["Timeline-Source"] == "archive" and len(entries) > len(before) else None

    after = await eventually(with_late_entry, message="the late event's entry did not follow the archived ones")
    assert after[: len(before)] == before
    assert after[-1]["event_id"] == late.id


async def test_a_changed_archive_segment_is_refused_with_502_and_nothing_of_it_is_served(service: Service) -> None:
    owner = unique_user("tamper")
    rid = await _cancelled(service, owner)
    segment = await _archive(service, rid, "2022-05")
    store = ObjectStore.from_settings(_settings(service))
    try:
        forged = archive_timeline.encode_segment(
            [{"request_id": rid, "event_type": "purchase_request.closed", "note": "forged entry"}]
        )
        await store.put(segment["object_key"], forged)
    finally:
        await store.close()

    r = await _timeline(service, rid, owner)

    problem = assert_problem(r, 502)
    assert problem["type"].endswith("document-integrity")
    assert "forged" not in r.text


async def test_an_archive_segment_the_store_lost_answers_410_with_its_key_and_hash(service: Service) -> None:
    owner = unique_user("lost")
    rid = await _cancelled(service, owner)
    segment = await _archive(service, rid, "2022-06")
    store = ObjectStore.from_settings(_settings(service))
    try:
        await store.delete(segment["object_key"])
    finally:
        await store.close()

    problem = assert_problem(await _timeline(service, rid, owner), 410)

    assert problem["type"].endswith("timeline-archived")
    assert problem["object_key"] == segment["object_key"]
    assert problem["sha256"] == segment["sha256"]


async def test_an_object_store_that_is_down_answers_503_with_retry_after(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner = unique_user("down")
    rid = await _cancelled(service, owner)
    await _archive(service, rid, "2022-07")
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    down = Settings.model_validate(
        {**_settings(service).model_dump(), "object_store_endpoint": f"http://127.0.0.1:{closed_port}"}
    )
    store = ObjectStore.from_settings(down)
    monkeypatch.setattr(type(service.app.state.uow_factory()), "archive_store", store)
    try:
        r = await _timeline(service, rid, owner)
    finally:
        await store.close()

    problem = assert_problem(r, 503)
    assert problem["type"].endswith("document-store-unavailable")
    assert r.headers["Retry-After"] == "30"
