"""``python -m backoffice_contracts move-documents``: the PDFs of rows from before object storage, moved.

Rows written before ``2026_12_03_0101_documents_in_object_store`` keep their draft in ``document``
and their executed PDF in ``executed_document`` (``bytea``). This command moves them to the object
store in batches, one transaction per batch:

1. claim up to ``batch`` rows still holding bytes (``FOR UPDATE SKIP LOCKED``, by id after the last
   one seen, so a second copy of the command takes other rows and a refused row is not met again);
2. check the bytes against the row's SHA-256 (what the parties signed); a row whose bytes do not
   match is **refused**: left as it is and reported, never uploaded under a hash it does not have;
3. put the object under the key a new row would get (``contracts/<id>/draft-<sha256>.pdf``,
   ``.../executed-<sha256>.pdf``), read it back and check its SHA-256 again;
4. only then set the key and clear the column, and commit.

A run stopped at any point loses nothing: an object put whose row was not committed is put again
under the same key by the next run (the key carries the hash), and a committed row is not claimed
again. Run it as often as wanted; a run with nothing to move changes nothing.

Clearing a ``bytea`` frees its TOAST pages for reuse by PostgreSQL (after autovacuum); the file
only shrinks with ``VACUUM FULL contract`` (which locks the table) or ``pg_repack``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from dataclasses import asdict, dataclass, field
from typing import Literal

import asyncpg

from backoffice_common.db import asyncpg_dsn
from backoffice_common.objectstore import ObjectStore, ObjectStoreError, sha256_hex
from backoffice_contracts.settings import Settings

PDF = "application/pdf"

Kind = Literal["draft", "executed"]

# Column names per kind: (bytes, key, hash). Fixed strings, never input.
_COLUMNS: dict[Kind, tuple[str, str, str]] = {
    "draft": ("document", "document_key", "document_sha256"),
    "executed": ("executed_document", "executed_key", "executed_sha256"),
}


@dataclass
class MoveReport:
    moved: dict[str, int] = field(default_factory=lambda: {"draft": 0, "executed": 0})
    moved_bytes: int = 0
    refused: list[dict[str, str]] = field(default_factory=list)
    """Rows whose bytes do not hash to their recorded SHA-256: left in the database, for an operator."""
    remaining: dict[str, int] = field(default_factory=dict)
    """Rows still holding bytes after the run (the refused ones, or those past ``--limit``)."""


def object_key(contract_id: str, kind: Kind, sha256: str) -> str:
    """The same key ``ContractsRepository`` gives a new row's PDF."""
    return f"contracts/{contract_id}/{kind}-{sha256}.pdf"


async def count_remaining(conn: asyncpg.Connection) -> dict[str, int]:
    row = await conn.fetchrow(
        "SELECT count(*) FILTER (WHERE document IS NOT NULL) AS draft,"
        " count(*) FILTER (WHERE executed_document IS NOT NULL) AS executed FROM contract"
    )
    assert row is not None
    return {"draft": row["draft"], "executed": row["executed"]}


async def _move_batch(
    conn: asyncpg.Connection, store: ObjectStore, kind: Kind, after: str | None, batch: int, report: MoveReport
) -> str | None:
    """Move one batch of ``kind`` after id ``after``; the last id claimed, or None when none was left."""
    content_col, key_col, hash_col = _COLUMNS[kind]
    async with conn.transaction():
        rows = await conn.fetch(
            f"SELECT id, {content_col} AS content, {hash_col} AS sha256 FROM contract"  # noqa: S608 (fixed names)
            f" WHERE {content_col} IS NOT NULL AND ($1::uuid IS NULL OR id > $1::uuid)"
            " ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED",
            after,
            batch,
        )
        if not rows:
            return None
        for row in rows:
            contract_id = str(row["id"])
            content = bytes(row["content"])
            recorded = (row["sha256"] or "").lower()
            if sha256_hex(content) != recorded:
                reason = "its bytes do not hash to the recorded SHA-256"
                report.refused.append({"contract_id": contract_id, "document": kind, "reason": reason})
                continue
            key = object_key(contract_id, kind, recorded)
            await store.put(key, content, content_type=PDF)
            await store.get(key, sha256=recorded)  # read back: TamperedObject / ObjectMissing stop the run
            await conn.execute(
                f"UPDATE contract SET {key_col} = $2, {content_col} = NULL WHERE id = $1",  # noqa: S608 (fixed names)
                row["id"],
                key,
            )
            report.moved[kind] += 1
            report.moved_bytes += len(content)
        return str(rows[-1]["id"])


async def move_documents(
    database_url: str, store: ObjectStore, *, batch: int = 100, limit: int | None = None
) -> MoveReport:
    """Move every ``bytea`` PDF (at most ``limit`` rows of each kind) to ``store``; see the module docstring."""
    report = MoveReport()
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        for kind in ("draft", "executed"):
            after: str | None = None
            claimed = 0
            while limit is None or claimed < limit:
                size = batch if limit is None else min(batch, limit - claimed)
                last = await _move_batch(conn, store, kind, after, size, report)
                if last is None:
                    break
                after = last
                claimed += size
        report.remaining = await count_remaining(conn)
    finally:
        await conn.close()
    return report


def add_arguments(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "move-documents", help="move contract PDFs still kept in the database (bytea) to the object store"
    )
    parser.add_argument("--batch", type=int, default=100, help="rows per transaction (default 100)")
    parser.add_argument("--limit", type=int, default=None, help="at most this many rows of each kind in this run")


def run(settings: Settings, args: argparse.Namespace) -> int:
    """Print the report as JSON; exit 1 when a row was refused (its bytes failed their hash), 3 when the
    store failed (nothing of the batch in progress was cleared; run again)."""
    if args.batch < 1 or (args.limit is not None and args.limit < 1):
        print("--batch and --limit must be at least 1", file=sys.stderr)
        return 2

    async def _run() -> MoveReport:
        store = ObjectStore.from_settings(settings)
        try:
            return await move_documents(settings.database_url, store, batch=args.batch, limit=args.limit)
        finally:
            await store.close()

    try:
        report = asyncio.run(_run())
    except ObjectStoreError as exc:
        print(f"stopped, the batch in progress was rolled back: {exc}", file=sys.stderr)
        return 3
    print(json.dumps(asdict(report), indent=2))
    return 1 if report.refused else 0


__all__ = ["MoveReport", "add_arguments", "count_remaining", "move_documents", "object_key", "run"]
