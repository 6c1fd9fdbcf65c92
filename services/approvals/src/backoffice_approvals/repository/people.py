"""The approver directory and the absences."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice_approvals.domain.people import DEFAULT_LANGUAGE, Absence, Approver, Directory
from backoffice_approvals.models import absence, approver
from backoffice_common.db import driver_connection

# PostgreSQL's wire protocol numbers bind parameters with 16 bits (32,767 at most): at eleven
# columns a row, one INSERT holds at most 2,978 approvers, so a large import is sent in chunks.
UPSERT_CHUNK = 1000

_DIRECTORY_SQL = (
    "SELECT v.version, a.id, a.name, a.email, a.manager_id, a.department, a.head_of, a.groups, a.limit_amount,"
    " a.limit_currency, a.active, a.language"
    " FROM (SELECT (SELECT version FROM directory_version WHERE id = 1) AS version) v LEFT JOIN approver a ON true"
)
"""Every approver and the directory's version, in one statement and so one snapshot: a row with the version
and no approver when there is none."""

_VERSION_SQL = "SELECT version FROM directory_version WHERE id = 1"

KEPT_DIRECTORIES = 4
"""How many directories (of as many databases or versions) a process keeps, the last used first."""

_kept: OrderedDict[UUID, Directory] = OrderedDict()
"""The directories read, under their version (migration 0009: a random UUID every change of ``approver``
replaces in the same transaction, never reused): equal versions are equal directories, whichever database or
transaction read them. Shared by concurrent use cases, so read-only (``Directory.indexed``)."""


def _approver(row: Any) -> Approver:
    """As ``Approver.of`` makes it of a stored row."""
    return Approver(
        id=row["id"],
        name=row["name"],
        email=row["email"],
        manager_id=row["manager_id"],
        department=row["department"],
        head_of=frozenset(row["head_of"] or ()),
        groups=frozenset(row["groups"] or ()),
        limit_amount=Decimal(row["limit_amount"]) if row["limit_amount"] is not None else None,
        limit_currency=row["limit_currency"],
        active=row["active"],
        language=row["language"] or DEFAULT_LANGUAGE,
    )


async def directory_on(conn: Any) -> Directory:
    """The approver directory, on an asyncpg connection (``DirectoryRepository.load``'s statements): one small
    statement reads its version and a directory read before under that version is reused; else every approver is
    read with the version (one statement) and kept. Read-only: shared with every other use case of the process."""
    if _kept:
        version = await conn.fetchval(_VERSION_SQL)
        kept = _kept.get(version) if version is not None else None
        if kept is not None:
            _kept.move_to_end(version)
            return kept
    rows = await conn.fetch(_DIRECTORY_SQL)
    directory = Directory.indexed(_approver(r) for r in rows if r["id"] is not None)
    version = rows[0]["version"] if rows else None
    if version is not None:  # None: no version row (an operator removed it): read every time, keep nothing
        _kept[version] = directory
        _kept.move_to_end(version)
        while len(_kept) > KEPT_DIRECTORIES:
            _kept.popitem(last=False)
    return directory


async def absences_active_on(conn: Any, at: datetime) -> list[Absence]:
    """The absences running at ``at``, on an asyncpg connection (``AbsenceRepository.active_at``'s statement)."""
    return [
        Absence(r["user_id"], r["starts_at"], r["ends_at"], r["delegate_id"], id=r["id"], cancelled_at=None)
        for r in await conn.fetch(_ACTIVE_ABSENCES_SQL, at)
    ]


class DirectoryRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def load(self) -> Directory:
        """The approver directory (raw asyncpg on the session's connection and transaction: most use cases load
        it), read-only: see ``directory_on``."""
        return await directory_on(await driver_connection(self.session))

    async def upsert(self, approvers: Sequence[Approver]) -> None:
        for start in range(0, len(approvers), UPSERT_CHUNK):
            chunk = approvers[start : start + UPSERT_CHUNK]
            stmt = insert(approver).values([a.as_values() for a in chunk])
            columns = {c: stmt.excluded[c] for c in chunk[0].as_values() if c != "id"}
            await self.session.execute(
                stmt.on_conflict_do_update(
                    index_elements=["id"], set_={**columns, "updated_at": stmt.excluded.updated_at}
                )
            )


def _absence(row: Any) -> Absence:
    return Absence(row.user_id, row.starts_at, row.ends_at, row.delegate_id, id=row.id, cancelled_at=row.cancelled_at)


_ACTIVE_ABSENCES_SQL = (
    "SELECT id, user_id, delegate_id, starts_at, ends_at FROM absence"
    " WHERE cancelled_at IS NULL AND ends_at > $1 AND starts_at <= $1"
)


class AbsenceRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def active_at(self, at: datetime) -> list[Absence]:
        """The absences running at ``at`` (raw asyncpg on the session's connection and transaction: every
        assignment asks it)."""
        return await absences_active_on(await driver_connection(self.session), at)

    async def get(self, absence_id: str) -> Absence | None:
        row = (await self.session.execute(select(absence).where(absence.c.id == absence_id))).first()
        return _absence(row) if row is not None else None

    async def add(self, item: Absence, *, created_by: str) -> None:
        await self.session.execute(
            absence.insert().values(
                id=item.id,
                user_id=item.user_id,
                delegate_id=item.delegate_id,
                starts_at=item.starts_at,
                ends_at=item.ends_at,
                created_by=created_by,
            )
        )

    async def cancel(self, absence_id: str, *, at: datetime) -> None:
        await self.session.execute(update(absence).where(absence.c.id == absence_id).values(cancelled_at=at))

    async def read(self, absence_id: str) -> dict[str, Any] | None:
        row = (await self.session.execute(select(absence).where(absence.c.id == absence_id))).first()
        return dict(row._mapping) if row is not None else None

    async def of_user(self, user_id: str) -> list[dict[str, Any]]:
        """The read model: every absence of the user, earliest first."""
        query = select(absence).where(absence.c.user_id == user_id).order_by(absence.c.starts_at)
        return [dict(r._mapping) for r in await self.session.execute(query)]
