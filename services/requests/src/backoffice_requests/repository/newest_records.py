"""Read models of compacted topics (vendors, cost centres): one row a key, and the newest record wins.

Records may arrive twice or out of order; ``record_updated_at`` is ISO 8601 in UTC with microseconds, so
a later record compares greater as a string, and an upsert that carries an older one changes nothing.
"""

from __future__ import annotations

from typing import Any, ClassVar

from sqlalchemy import Column, Table, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession


class NewestRecords:
    """A table of ``key``, some columns taken from the record, ``record`` and ``record_updated_at``."""

    table: ClassVar[Table]
    key: ClassVar[str]

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _keep(self, key: str, *, record: dict[str, Any], updated_at: str, **columns: Any) -> bool:
        """Stores the record unless a newer one of ``key`` is stored already; answers whether it did."""
        values = {**columns, "record": record, "record_updated_at": updated_at}
        stmt = pg_insert(self.table).values({self.key: key, **values})
        upsert = stmt.on_conflict_do_update(
            index_elements=[self.key],
            set_={name: stmt.excluded[name] for name in values},
            where=self.table.c.record_updated_at <= stmt.excluded.record_updated_at,
        ).returning(self.table.c[self.key])
        return (await self.session.execute(upsert)).scalar_one_or_none() is not None

    async def _value(self, key: str, column: Column[Any]) -> Any:
        """One column of the row of ``key``, or None for a key not known here."""
        return await self.session.scalar(select(column).where(self.table.c[self.key] == key))
