"""Retention: rows past their window are deleted (or their bulky columns cleared) in small indexed batches.

What a service keeps only for a while (sent outbox rows, the inbox of handled event ids, idempotency
keys, webhook ids, mail bodies) is pruned by one background job per service, docs/retention.md. One
``DELETE`` of everything old at once read the whole table when the column had no index and held its
locks for as long as it ran; here each batch finds at most ``batch_size`` rows through the index of
the rule's column, deletes them by their physical row id and commits, so a batch costs milliseconds
whatever the table's size, and nothing waits behind it for long.

One instance of a service prunes at a time (a PostgreSQL advisory lock); the others skip the round.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

import asyncpg
import structlog
from prometheus_client import Counter

from backoffice_common.outbox import advisory_lock_key

log = structlog.get_logger(__name__)
_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*")

RETENTION_PRUNED = Counter(
    "backoffice_retention_pruned_total", "Rows deleted or cleared by the retention job", ["service", "rule"]
)


@dataclass(frozen=True)
class Retention:
    """Rows of ``table`` whose ``column`` is older than ``keep`` are deleted, or, with ``clear``, have
    those columns set to NULL. ``condition`` (SQL over the table's columns) narrows the rows further.
    ``column`` needs an index (partial on ``condition`` where one is given) for the batches to stay cheap."""

    name: str
    table: str
    column: str
    keep: timedelta
    condition: str | None = None
    clear: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for identifier in (self.table, self.column, *self.clear):
            if not _IDENTIFIER.fullmatch(identifier):
                raise ValueError(f"retention rule {self.name!r}: {identifier!r} is not a plain SQL identifier")

    def _where(self) -> str:
        parts = [f"{self.column} < now() - make_interval(secs => $1)"]
        if self.condition:
            parts.append(f"({self.condition})")
        if self.clear:
            parts.append("(" + " OR ".join(f"{c} IS NOT NULL" for c in self.clear) + ")")
        return " AND ".join(parts)

    def select_sql(self) -> str:
        """The row ids of one batch: $1 the window in seconds, $2 the batch size."""
        # Table and column names are checked identifiers from code, the condition is code too; the
        # values are parameters.
        return f"SELECT ctid FROM {self.table} WHERE {self._where()} LIMIT $2"  # noqa: S608

    def batch_sql(self) -> str:
        """One batch: $1 the window in seconds, $2 the batch size."""
        chosen = f"ARRAY({self.select_sql()})"
        if self.clear:
            assignments = ", ".join(f"{c} = NULL" for c in self.clear)
            return f"UPDATE {self.table} SET {assignments} WHERE ctid = ANY({chosen})"  # noqa: S608
        return f"DELETE FROM {self.table} WHERE ctid = ANY({chosen})"  # noqa: S608


def _affected(status: str) -> int:
    return int(status.rsplit(" ", 1)[-1])


async def prune(conn: asyncpg.Connection, rule: Retention, *, batch_size: int = 5000) -> int:
    """Apply ``rule`` batch by batch (each its own transaction) until no row is past the window."""
    total = 0
    sql = rule.batch_sql()
    seconds = rule.keep.total_seconds()
    while True:
        done = _affected(await conn.execute(sql, seconds, batch_size))
        total += done
        if done < batch_size:
            return total
        await asyncio.sleep(0)


def messaging_retention(*, outbox_keep: timedelta, inbox_keep: timedelta) -> list[Retention]:
    """The rules of the tables every service has (``backoffice_common.messaging``)."""
    return [
        Retention("outbox_sent", "outbox_message", "sent_at", outbox_keep, condition="sent_at IS NOT NULL"),
        Retention("inbox", "processed_event", "processed_at", inbox_keep),
    ]


class RetentionJob:
    """Every ``interval`` seconds, apply each rule, unless another instance of the service holds the lock."""

    def __init__(
        self,
        *,
        dsn: str,
        service: str,
        rules: Sequence[Retention],
        interval: float = 600.0,
        batch_size: int = 5000,
    ) -> None:
        self._dsn = dsn
        self._service = service
        self._rules = list(rules)
        self._interval = interval
        self._batch_size = batch_size
        self._lock_key = advisory_lock_key(f"retention:{service}")

    async def run(self) -> None:
        while True:
            try:
                await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("retention.failed", service=self._service, error=repr(exc))
            await asyncio.sleep(self._interval)

    async def run_once(self) -> dict[str, int] | None:
        """One round; the rows pruned per rule, or None when another instance held the lock."""
        conn: asyncpg.Connection = await asyncpg.connect(self._dsn)
        try:
            if not await conn.fetchval("SELECT pg_try_advisory_lock($1)", self._lock_key):
                return None
            pruned: dict[str, int] = {}
            for rule in self._rules:
                pruned[rule.name] = await prune(conn, rule, batch_size=self._batch_size)
                RETENTION_PRUNED.labels(self._service, rule.name).inc(pruned[rule.name])
            if any(pruned.values()):
                log.info("retention.pruned", service=self._service, **pruned)
            return pruned
        finally:
            await conn.close()


__all__ = ["RETENTION_PRUNED", "Retention", "RetentionJob", "messaging_retention", "prune"]
