"""The audit log's archive: old stretches of the hash chain moved to the object store, anchored in the database.

``audit_entry`` grows by every fact for ever (19.6 KB of the 53.6 KB per order, docs/data-growth.md).
Archiving must keep every row verifiable and must not open a way to delete rows unseen, so:

1. *Segments.* The oldest live rows ``seq`` ``a`` to ``b`` (contiguous, each recorded before the cutoff)
   are written as gzip JSON Lines of ``(seq, recorded_at, request_id, content, prev_hash, hash)`` to
   ``audit/<service>/<a>-<b>-<sha256>.jsonl.gz``, read back and checked (hash and row count). Rows whose
   chain does not hold are never archived: the run stops and names the first broken link.
2. *Anchor.* In the same transaction, a row of ``audit_anchor`` (``seq_from``, ``seq_to``, ``last_hash``,
   ``object_key``, ``sha256``, ``rows``), append-only itself, and an entry ``audit.segment_archived`` with
   the same fields appended to the live chain: the chain records its own archiving; and a row of
   ``audit_anchor_request`` per request id in the segment (append-only too), so a request's archived
   facts are read from its segments only.
3. *Deleting.* The trigger refuses DELETE unless the transaction set ``backoffice.audit_archive_upto``
   (``set_config(..., true)``, local to the transaction) and the row's ``seq`` is at most that value and
   at most the highest ``audit_anchor.seq_to``; UPDATE and TRUNCATE stay refused.
4. *Verifying.* ``verify_archived_chain`` walks the anchors in order: fetches each segment (its SHA-256
   checked by ``ObjectStore.get``), runs ``verify_chain`` over its rows from the previous anchor's
   ``last_hash`` (``GENESIS`` for the first), checks it ends at the anchor's ``seq_to`` and ``last_hash``,
   then verifies the live rows after the last anchor. A missing or changed segment or a gap is the first
   broken link.

The chain's head always stays in the table (the ``audit.segment_archived`` entry is appended after the
archived rows), so the next append continues the same chain.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg

from backoffice_common.audit import GENESIS, TABLE, BrokenLink, insert_statement, verify_chain
from backoffice_common.events import new_event
from backoffice_common.objectstore import ObjectMissing, ObjectStore, ObjectStoreError, TamperedObject, sha256_hex

ANCHOR_TABLE = "audit_anchor"
REQUEST_INDEX_TABLE = "audit_anchor_request"
ARCHIVE_SETTING = "backoffice.audit_archive_upto"
ARCHIVED_TYPE = "audit.segment_archived"
CONTENT_TYPE = "application/gzip"
_COLUMNS = ("seq", "recorded_at", "request_id", "content", "prev_hash", "hash")

# constants only in these statements, no input
_GUARDED_DELETE = f"""CREATE OR REPLACE FUNCTION {TABLE}_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        upto text := current_setting('{ARCHIVE_SETTING}', true);
    BEGIN
        IF TG_OP = 'DELETE' AND coalesce(upto, '') <> ''
           AND OLD.seq <= upto::bigint
           AND OLD.seq <= (SELECT coalesce(max(seq_to), 0) FROM {ANCHOR_TABLE}) THEN
            RETURN OLD;
        END IF;
        RAISE EXCEPTION '{TABLE} is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
    END $$"""  # noqa: S608

_PLAIN = f"""CREATE OR REPLACE FUNCTION {TABLE}_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION '{TABLE} is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
    END $$"""

_ANCHOR = (
    f"""CREATE TABLE {ANCHOR_TABLE} (
        seq_from bigint NOT NULL,
        seq_to bigint NOT NULL PRIMARY KEY,
        last_hash varchar(64) NOT NULL,
        object_key text NOT NULL,
        sha256 varchar(64) NOT NULL,
        rows integer NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT ck_{ANCHOR_TABLE}_range CHECK (seq_from >= 1 AND seq_to >= seq_from AND rows = seq_to - seq_from + 1)
    )""",
    f"""CREATE FUNCTION {ANCHOR_TABLE}_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION '{ANCHOR_TABLE} is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
    END $$""",
    f"""CREATE TRIGGER {ANCHOR_TABLE}_no_update_or_delete BEFORE UPDATE OR DELETE ON {ANCHOR_TABLE}
    FOR EACH ROW EXECUTE FUNCTION {ANCHOR_TABLE}_append_only()""",
    f"""CREATE TRIGGER {ANCHOR_TABLE}_no_truncate BEFORE TRUNCATE ON {ANCHOR_TABLE}
    FOR EACH STATEMENT EXECUTE FUNCTION {ANCHOR_TABLE}_append_only()""",
)


_REQUEST_INDEX = (
    f"ALTER TABLE {ANCHOR_TABLE} ADD COLUMN indexed boolean NOT NULL DEFAULT false",
    f"""CREATE TABLE {REQUEST_INDEX_TABLE} (
        request_id varchar(200) NOT NULL,
        seq_to bigint NOT NULL,
        PRIMARY KEY (request_id, seq_to)
    )""",
    f"""CREATE TRIGGER {REQUEST_INDEX_TABLE}_no_update_or_delete BEFORE UPDATE OR DELETE ON {REQUEST_INDEX_TABLE}
    FOR EACH ROW EXECUTE FUNCTION {ANCHOR_TABLE}_append_only()""",
    f"""CREATE TRIGGER {REQUEST_INDEX_TABLE}_no_truncate BEFORE TRUNCATE ON {REQUEST_INDEX_TABLE}
    FOR EACH STATEMENT EXECUTE FUNCTION {ANCHOR_TABLE}_append_only()""",
)


def create_audit_anchors(bind: Any) -> None:
    """For a service's migration, after ``create_audit_table``: the anchors and the guarded DELETE."""
    for statement in (*_ANCHOR, _GUARDED_DELETE):
        bind.exec_driver_sql(statement)


def create_anchor_request_index(bind: Any) -> None:
    """For a service's migration, after ``create_audit_anchors``: which segment holds which request's rows
    (``GET /admin/audit?request_id=`` reads only those). Anchors from before it are ``indexed = false``."""
    for statement in _REQUEST_INDEX:
        bind.exec_driver_sql(statement)


def drop_anchor_request_index(bind: Any) -> None:
    bind.exec_driver_sql(f"DROP TABLE {REQUEST_INDEX_TABLE}")
    bind.exec_driver_sql(f"ALTER TABLE {ANCHOR_TABLE} DROP COLUMN indexed")


def drop_audit_anchors(bind: Any) -> None:
    bind.exec_driver_sql(_PLAIN)
    bind.exec_driver_sql(f"DROP TABLE {ANCHOR_TABLE}")
    bind.exec_driver_sql(f"DROP FUNCTION {ANCHOR_TABLE}_append_only()")


class BrokenChain(Exception):
    """The live rows to archive do not chain: nothing is archived, the link is for an auditor."""

    def __init__(self, broken: BrokenLink) -> None:
        super().__init__(f"the audit chain is broken at seq {broken.seq}: {broken.reason}; nothing archived")
        self.broken = broken


@dataclass
class AuditArchiveReport:
    segments: list[dict[str, Any]] = field(default_factory=list)
    rows: int = 0
    gzip_bytes: int = 0


def segment_key(service: str, seq_from: int, seq_to: int, sha256: str) -> str:
    return f"audit/{service}/{seq_from}-{seq_to}-{sha256}.jsonl.gz"


def encode_rows(rows: list[dict[str, Any]]) -> bytes:
    lines = [json.dumps(row, sort_keys=True, separators=(",", ":"), default=str) for row in rows]
    return gzip.compress(("\n".join(lines) + "\n").encode(), mtime=0)


def decode_rows(content: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in gzip.decompress(content).decode().splitlines() if line]


async def _last_anchor(conn: asyncpg.Connection) -> tuple[int, str]:
    row = await conn.fetchrow(f"SELECT seq_to, last_hash FROM {ANCHOR_TABLE} ORDER BY seq_to DESC LIMIT 1")  # noqa: S608
    return (int(row["seq_to"]), str(row["last_hash"])) if row else (0, GENESIS)


async def _archive_batch(
    conn: asyncpg.Connection,
    store: ObjectStore,
    *,
    service: str,
    before: datetime,
    upto: int,
    batch: int,
    report: AuditArchiveReport,
) -> bool:
    """Archive the oldest stretch of up to ``batch`` rows recorded before ``before`` (and at most ``upto``);
    False when none is left."""
    async with conn.transaction():
        await conn.execute(f"LOCK TABLE {TABLE} IN EXCLUSIVE MODE")  # appends wait; the chain keeps one order
        after = await _last_anchor(conn)
        head = await conn.fetchval(f"SELECT max(seq) FROM {TABLE}")  # noqa: S608
        found = await conn.fetch(
            f"SELECT {', '.join(_COLUMNS)} FROM {TABLE}"  # noqa: S608
            " WHERE seq > $1 AND seq < $2 AND seq <= $3 ORDER BY seq LIMIT $4",
            after[0],
            head or 0,  # never the head: the next append continues from it
            upto,
            batch,
        )
        rows: list[dict[str, Any]] = []
        for record in found:
            if record["recorded_at"] >= before:
                break
            rows.append(dict(record))
        if not rows:
            return False
        broken = verify_chain(rows, after=after)
        if broken is not None:
            raise BrokenChain(broken)
        seq_from, seq_to, last_hash = rows[0]["seq"], rows[-1]["seq"], rows[-1]["hash"]
        content = encode_rows(rows)
        digest = sha256_hex(content)
        key = segment_key(service, seq_from, seq_to, digest)
        await store.put(key, content, content_type=CONTENT_TYPE)
        back = decode_rows(await store.get(key, sha256=digest))  # TamperedObject / ObjectMissing stop the run
        if len(back) != len(rows):
            raise ObjectStoreError(f"the segment {key!r} read back holds {len(back)} rows, not {len(rows)}")
        anchor = {
            "seq_from": seq_from,
            "seq_to": seq_to,
            "last_hash": last_hash,
            "object_key": key,
            "sha256": digest,
            "rows": len(rows),
        }
        await conn.execute(
            f"INSERT INTO {ANCHOR_TABLE} (seq_from, seq_to, last_hash, object_key, sha256, rows, indexed)"  # noqa: S608
            " VALUES ($1, $2, $3, $4, $5, $6, true)",
            *anchor.values(),
        )
        requests = sorted({row["request_id"] for row in rows if row["request_id"]})
        await conn.executemany(
            f"INSERT INTO {REQUEST_INDEX_TABLE} (request_id, seq_to) VALUES ($1, $2)",  # noqa: S608
            [(request_id, seq_to) for request_id in requests],
        )
        event = new_event(type=ARCHIVED_TYPE, service=service, subject=key, data={"schema_version": 1, **anchor})
        sql, args = await insert_statement(conn, TABLE, [event], service=service)
        await conn.execute(sql, *args)
        await conn.execute(f"SELECT set_config('{ARCHIVE_SETTING}', $1, true)", str(seq_to))
        await conn.execute(f"DELETE FROM {TABLE} WHERE seq >= $1 AND seq <= $2", seq_from, seq_to)  # noqa: S608
    report.segments.append(anchor)
    report.rows += len(rows)
    report.gzip_bytes += len(content)
    return True


async def archive_audit(
    conn: asyncpg.Connection, store: ObjectStore, *, service: str, before: datetime, batch: int = 10_000
) -> AuditArchiveReport:
    """Archive, segment by segment (one transaction each), every row recorded before ``before`` but the
    chain's head, of those there were when the run started (a segment's own entry is for the next run).
    Raises ``BrokenChain`` (nothing of that batch archived) or ``ObjectStoreError`` (that batch rolled back)."""
    report = AuditArchiveReport()
    upto = int(await conn.fetchval(f"SELECT coalesce(max(seq), 0) FROM {TABLE}"))  # noqa: S608
    while await _archive_batch(conn, store, service=service, before=before, upto=upto, batch=batch, report=report):
        pass
    return report


async def _live_rows(conn: asyncpg.Connection, after_seq: int, page: int) -> AsyncIterator[list[dict[str, Any]]]:
    while True:
        rows = [
            dict(r)
            for r in await conn.fetch(
                f"SELECT seq, request_id, content, prev_hash, hash FROM {TABLE} WHERE seq > $1 ORDER BY seq LIMIT $2",  # noqa: S608
                after_seq,
                page,
            )
        ]
        if not rows:
            return
        yield rows
        after_seq = rows[-1]["seq"]


@dataclass(frozen=True)
class ArchivedChainReport:
    segments: int
    archived_rows: int
    live_rows: int
    broken: BrokenLink | None


async def _verify_segment(
    store: ObjectStore, anchor: asyncpg.Record, after: tuple[int, str]
) -> tuple[int, BrokenLink | None]:
    """The rows of one anchored segment and its first broken link (None when it chains from ``after``)."""
    key, seq_from = anchor["object_key"], int(anchor["seq_from"])
    if seq_from != after[0] + 1:
        return 0, BrokenLink(after[0] + 1, f"no archived segment holds row {after[0] + 1}")
    try:
        rows = decode_rows(await store.get(key, sha256=anchor["sha256"]))
    except ObjectMissing:
        return 0, BrokenLink(seq_from, f"the archived segment {key} is missing")
    except TamperedObject:
        return 0, BrokenLink(seq_from, f"the archived segment {key} was changed")
    broken = verify_chain(rows, after=after)
    if broken is None and (not rows or rows[-1]["seq"] != anchor["seq_to"] or rows[-1]["hash"] != anchor["last_hash"]):
        broken = BrokenLink(seq_from, "the segment does not end where its anchor says")
    return len(rows), broken


async def verify_archived_chain(
    conn: asyncpg.Connection, store: ObjectStore, *, page: int = 5000
) -> ArchivedChainReport:
    """The whole chain, archived segments then live rows, checked link by link."""
    anchors = await conn.fetch(
        f"SELECT seq_from, seq_to, last_hash, object_key, sha256 FROM {ANCHOR_TABLE} ORDER BY seq_to"  # noqa: S608
    )
    after, archived = (0, GENESIS), 0
    for number, anchor in enumerate(anchors):
        rows, broken = await _verify_segment(store, anchor, after)
        if broken is not None:
            return ArchivedChainReport(number, archived, 0, broken)
        archived += rows
        after = (int(anchor["seq_to"]), str(anchor["last_hash"]))
    live = 0
    async for rows_page in _live_rows(conn, after[0], page):
        broken = verify_chain(rows_page, after=after)
        if broken is not None:
            return ArchivedChainReport(len(anchors), archived, live, broken)
        live += len(rows_page)
        after = (rows_page[-1]["seq"], rows_page[-1]["hash"])
    return ArchivedChainReport(len(anchors), archived, live, None)


__all__ = [
    "ANCHOR_TABLE",
    "ARCHIVED_TYPE",
    "REQUEST_INDEX_TABLE",
    "ArchivedChainReport",
    "AuditArchiveReport",
    "BrokenChain",
    "archive_audit",
    "create_anchor_request_index",
    "create_audit_anchors",
    "decode_rows",
    "drop_anchor_request_index",
    "drop_audit_anchors",
    "encode_rows",
    "segment_key",
    "verify_archived_chain",
]
