"""``python -m backoffice_requests archive-timeline``: finished requests' timelines, moved to the object store.

The timeline was 16.7 KB of every order kept in PostgreSQL for ever. Once a request is finished
(a final status: closed, cancelled, rejected) and has not changed for ``--after-days``
(``REQUESTS_TIMELINE_ARCHIVE_AFTER_DAYS``, 365), nothing writes to its timeline again and it is
read rarely: its entries go to the object store, then leave the table. One batch per transaction:

1. claim up to ``batch`` such requests of the oldest month still to archive (by ``updated_at``,
   ``FOR UPDATE SKIP LOCKED``, so a request being changed is left for the next run);
2. write their entries as JSON Lines (one entry per line, the table's columns, keys sorted, in
   ``(request_id, id)`` order), gzip them and hash the gzip (SHA-256);
3. put the segment under ``timeline/<YYYY-MM>/<sha256>.jsonl.gz`` (the key is the content's hash:
   a rerun after a crash puts the same key again), read it back, check the hash and the line count;
4. record the segment (``timeline_archive``: key, hash, month, counts), point each request at it
   (``purchase_request.timeline_archive_id``), delete the entries, commit.

``GET /requests/{id}/timeline`` of an archived request reads its entries back from the segment,
hash-checked (``repository/timeline_archive.py``, the segment format), and answers as for a live one
(``Timeline-Source: archive``); ``archive-timeline --show <request id>`` prints them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from backoffice_common.db import asyncpg_dsn
from backoffice_common.objectstore import ObjectStore, ObjectStoreError, sha256_hex
from backoffice_requests.domain.lifecycle import TERMINAL
from backoffice_requests.repository.timeline_archive import (
    CONTENT_TYPE,
    decode_segment,
    encode_segment,
    entries_of,
    segment_key,
)
from backoffice_requests.settings import Settings

_FINAL = sorted(str(s) for s in TERMINAL)


@dataclass
class ArchiveReport:
    segments: list[dict[str, Any]] = field(default_factory=list)
    requests: int = 0
    entries: int = 0
    gzip_bytes: int = 0


def _entry(record: asyncpg.Record) -> dict[str, Any]:
    row = dict(record)
    for column in ("actor", "data"):  # asyncpg returns JSONB as text
        if isinstance(row[column], str):
            row[column] = json.loads(row[column])
    return row


async def _archive_batch(
    conn: asyncpg.Connection, store: ObjectStore, *, cutoff: datetime, batch: int, report: ArchiveReport
) -> bool:
    """Archive one batch; False when no request is left to archive."""
    async with conn.transaction():
        oldest = await conn.fetchval(
            "SELECT to_char(date_trunc('month', updated_at AT TIME ZONE 'UTC'), 'YYYY-MM') FROM purchase_request"
            " WHERE status = ANY($1::text[]) AND updated_at < $2 AND timeline_archive_id IS NULL"
            " ORDER BY updated_at, id LIMIT 1",
            _FINAL,
            cutoff,
        )
        if oldest is None:
            return False
        start = datetime.strptime(oldest + "-01", "%Y-%m-%d").replace(tzinfo=UTC)
        end = (start + timedelta(days=32)).replace(day=1)
        ids = [
            r["id"]
            for r in await conn.fetch(
                "SELECT id FROM purchase_request WHERE status = ANY($1::text[]) AND updated_at < $2"
                " AND timeline_archive_id IS NULL AND updated_at >= $3 AND updated_at < $4"
                " ORDER BY updated_at, id LIMIT $5 FOR UPDATE SKIP LOCKED",
                _FINAL,
                min(cutoff, end),
                start,
                end,
                batch,
            )
        ]
        if not ids:
            return False  # all of that month's are being changed right now: the next run takes them
        rows = [
            _entry(r)
            for r in await conn.fetch(
                "SELECT * FROM timeline_entry WHERE request_id = ANY($1::uuid[]) ORDER BY request_id, id", ids
            )
        ]
        content = encode_segment(rows)
        digest = sha256_hex(content)
        key = segment_key(oldest, digest)
        await store.put(key, content, content_type=CONTENT_TYPE)
        back = decode_segment(await store.get(key, sha256=digest))  # TamperedObject / ObjectMissing stop the run
        if len(back) != len(rows):
            raise ObjectStoreError(f"the segment {key!r} read back holds {len(back)} entries, not {len(rows)}")
        archive_id = await conn.fetchval(
            "INSERT INTO timeline_archive (object_key, sha256, month, requests, entries, size)"
            " VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            key,
            digest,
            oldest,
            len(ids),
            len(rows),
            len(content),
        )
        await conn.execute(
            "UPDATE purchase_request SET timeline_archive_id = $2 WHERE id = ANY($1::uuid[])", ids, archive_id
        )
        await conn.execute("DELETE FROM timeline_entry WHERE request_id = ANY($1::uuid[])", ids)
    report.segments.append({"key": key, "sha256": digest, "requests": len(ids), "entries": len(rows)})
    report.requests += len(ids)
    report.entries += len(rows)
    report.gzip_bytes += len(content)
    return True


async def archive_timelines(
    database_url: str, store: ObjectStore, *, after_days: float, batch: int = 500, now: datetime | None = None
) -> ArchiveReport:
    """Archive the timelines of every request finished and unchanged for ``after_days``."""
    cutoff = (now or datetime.now(UTC)) - timedelta(days=after_days)
    report = ArchiveReport()
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        while await _archive_batch(conn, store, cutoff=cutoff, batch=batch, report=report):
            pass
    finally:
        await conn.close()
    return report


async def archived_entries(database_url: str, store: ObjectStore, request_id: str) -> list[dict[str, Any]] | None:
    """An archived request's entries from its segment (hash-checked); None when it is not archived."""
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        segment = await conn.fetchrow(
            "SELECT a.object_key, a.sha256 FROM purchase_request r JOIN timeline_archive a"
            " ON a.id = r.timeline_archive_id WHERE r.id = $1::uuid",
            request_id,
        )
    finally:
        await conn.close()
    if segment is None:
        return None
    return entries_of(await store.get(segment["object_key"], sha256=segment["sha256"]), request_id)


def add_arguments(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("archive-timeline", help="move the timelines of long-finished requests to the object store")
    parser.add_argument("--after-days", type=float, default=None, help="default: TIMELINE_ARCHIVE_AFTER_DAYS")
    parser.add_argument("--batch", type=int, default=500, help="requests per segment and transaction (500)")
    parser.add_argument("--show", metavar="REQUEST_ID", default=None, help="print an archived request's entries")


def run(settings: Settings, args: argparse.Namespace) -> int:
    """Print the report (or ``--show``'s entries) as JSON; exit 3 when the store failed (the batch in
    progress was rolled back: nothing of it was deleted)."""
    after_days = args.after_days if args.after_days is not None else settings.timeline_archive_after_days
    if args.batch < 1 or after_days < 0:
        print("--batch must be at least 1 and --after-days at least 0", file=sys.stderr)
        return 2

    async def _run() -> object:
        store = ObjectStore.from_settings(settings)
        try:
            if args.show is not None:
                return await archived_entries(settings.database_url, store, args.show)
            return asdict(
                await archive_timelines(settings.database_url, store, after_days=after_days, batch=args.batch)
            )
        finally:
            await store.close()

    try:
        result = asyncio.run(_run())
    except ObjectStoreError as exc:
        print(f"stopped, the batch in progress was rolled back: {exc}", file=sys.stderr)
        return 3
    if result is None:
        print(f"request {args.show} has no archived timeline", file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2, default=str))
    return 0


__all__ = [
    "ArchiveReport",
    "add_arguments",
    "archive_timelines",
    "archived_entries",
    "decode_segment",
    "encode_segment",
    "run",
    "segment_key",
]
