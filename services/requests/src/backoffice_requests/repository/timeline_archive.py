"""Archived timelines: the segment format in the object store, and an archived request's entries read back.

``archive-timeline`` writes a segment per batch of requests: gzip JSON Lines, one timeline entry per line
(the table's columns, keys sorted, compact separators, in ``(request_id, id)`` order). A read fetches the
whole segment, checks it against the SHA-256 that ``timeline_archive`` recorded (``ObjectStore.get``:
``TamperedObject`` when it does not match, ``ObjectMissing`` when the store lost it) and parses only the
lines of the one request: a segment holds up to 500 requests' entries, and parsing the others would be
most of the read's CPU. Decompressing and parsing run in a worker thread, off the event loop.
"""

from __future__ import annotations

import asyncio
import gzip
import json
from typing import Any

from backoffice_common.objectstore import ObjectStore

CONTENT_TYPE = "application/gzip"


def segment_key(month: str, sha256: str) -> str:
    return f"timeline/{month}/{sha256}.jsonl.gz"


def encode_segment(rows: list[dict[str, Any]]) -> bytes:
    """The entries as gzip JSON Lines; the same rows give the same bytes (no time in the gzip header)."""
    lines = [json.dumps(row, sort_keys=True, separators=(",", ":"), default=str) for row in rows]
    return gzip.compress(("\n".join(lines) + "\n").encode(), mtime=0)


def decode_segment(content: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in gzip.decompress(content).decode().splitlines() if line]


def entries_of(content: bytes, request_id: str) -> list[dict[str, Any]]:
    """One request's entries of a segment, in their recorded order. A line is parsed only when it names
    the request (the compact, key-sorted encoding writes ``"request_id":"<id>"`` verbatim); the parsed
    row's ``request_id`` is then checked, so a look-alike string in another entry's data is not taken."""
    marker = f'"request_id":"{request_id}"'
    rows = (json.loads(line) for line in gzip.decompress(content).decode().splitlines() if marker in line)
    return [row for row in rows if row.get("request_id") == request_id]


class ArchivedTimelineRepository:
    """Reads an archived request's entries back from its segment, hash-checked."""

    def __init__(self, store: ObjectStore | None) -> None:
        self.store = store

    async def entries(self, *, request_id: str, object_key: str, sha256: str) -> list[dict[str, Any]]:
        """The request's entries as the table had them (timestamps as ISO text). Raises ``ObjectMissing``,
        ``TamperedObject`` or ``ObjectStoreError`` as the store answers."""
        if self.store is None:
            raise RuntimeError("the requests unit of work was built without the timeline archive's object store")
        content = await self.store.get(object_key, sha256=sha256)
        return await asyncio.to_thread(entries_of, content, request_id)
