"""Loading and saving the contract aggregate, its refusals, and the read queries of the API.

The aggregate's loads and saves, the refusals, the PDFs' keys and the API's reads run on raw asyncpg through
``driver_connection`` (the session's connection and transaction): no SQLAlchemy compile or result layer.
UUID columns are read as text, as SQLAlchemy's ``UUID(as_uuid=False)`` gives them.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import asyncpg
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice_common.db import driver_connection
from backoffice_common.objectstore import ObjectStore, TamperedObject, sha256_hex
from backoffice_contracts.domain.contract import OPEN_STATUSES, Contract, SigningOrder, Status
from backoffice_contracts.domain.signature import Party, Refusal, Signature
from backoffice_contracts.models import contract, contract_signature, signature_refusal

Track = Callable[[Any], None]

PDF = "application/pdf"
_OPEN = [s.value for s in OPEN_STATUSES]


def _columns(table: Any, *, leave_out: tuple[str, ...] = ()) -> str:
    """The table's columns as a select list, UUIDs as text."""
    return ", ".join(
        f"{c.name}::text AS {c.name}" if isinstance(c.type, UUID) else c.name
        for c in table.c
        if c.name not in leave_out
    )


_AGGREGATE = _columns(contract, leave_out=("document", "executed_document", "data"))
_SELECT_CONTRACT = f"SELECT {_AGGREGATE} FROM contract"  # noqa: S608 (column names of the model)
# The open statuses as literals: the partial index ix_contract_open_expires_at has them in its predicate.
_IS_OPEN = "status IN (" + ", ".join(f"'{status}'" for status in _OPEN) + ")"
_SELECT_SIGNATURES = (
    f"SELECT {_columns(contract_signature)} FROM contract_signature"  # noqa: S608 (column names of the model)
    " WHERE contract_id = ANY($1::uuid[]) ORDER BY signed_at"
)
_SELECT_REFUSALS = (
    f"SELECT {_columns(signature_refusal)} FROM signature_refusal"  # noqa: S608 (column names of the model)
    " WHERE contract_id = $1 ORDER BY refused_at"
)
_SIGNATURE_COLUMNS = [c.name for c in contract_signature.c]
_INSERT_SIGNATURE = (
    f"INSERT INTO contract_signature ({', '.join(_SIGNATURE_COLUMNS)})"  # noqa: S608 (column names of the model)
    f" VALUES ({', '.join(f'${i}' for i in range(1, len(_SIGNATURE_COLUMNS) + 1))})"
)
_REFUSAL_COLUMNS = [c.name for c in signature_refusal.c]
_INSERT_REFUSAL = (
    f"INSERT INTO signature_refusal ({', '.join(_REFUSAL_COLUMNS)})"  # noqa: S608 (column names of the model)
    f" VALUES ({', '.join(f'${i}' for i in range(1, len(_REFUSAL_COLUMNS) + 1))})"
)
_INSERT_CONTRACT = (
    "INSERT INTO contract (id, request_id, revision, request_number, vendor_id, requester_id, language,"
    " template_version, status, signing_order, document_key, document_sha256, data, generated_at, expires_at)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13::jsonb, $14, $15)"
)
_UPDATE_CONTRACT = "UPDATE contract SET status = $2, closed_at = $3, closed_reason = $4 WHERE id = $1"
_UPDATE_EXECUTED = (
    "UPDATE contract SET status = $2, closed_at = $3, closed_reason = $4,"
    " executed_key = $5, executed_sha256 = $6, executed_at = $7 WHERE id = $1"
)
_PDF_SQL = {
    "draft": "SELECT document, document_key, document_sha256 FROM contract WHERE id = $1",
    "executed": "SELECT executed_document, executed_key, executed_sha256 FROM contract WHERE id = $1",
}


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


class ContractRepository:
    """The only place that reads or writes ``contract``, ``contract_signature`` and ``signature_refusal``.

    The PDFs live in the object store under a key the row names, with their SHA-256 in the row; a read
    checks the content against that hash. An object is put before the row that names it is written.
    """

    def __init__(self, session: AsyncSession, *, track: Track, store: ObjectStore | None) -> None:
        self._session = session
        self._track = track
        self._store = store
        self.earliest_expiry: datetime | None = None
        """The earliest ``expires_at`` this unit of work wrote: the expiry job is rung with it after the commit."""

    @property
    def store(self) -> ObjectStore:
        if self._store is None:
            raise RuntimeError("the contracts' unit of work has no object store (ContractsUnitOfWork.with_store)")
        return self._store

    # aggregate -----------------------------------------------------------------------------------

    async def _conn(self) -> asyncpg.Connection:
        return await driver_connection(self._session)

    async def get(self, contract_id: str, *, for_update: bool = False) -> Contract | None:
        """The contract (row-locked with ``for_update``), or None, also for an id that is not a UUID."""
        if not _is_uuid(contract_id):
            return None
        sql = f"{_SELECT_CONTRACT} WHERE id = $1"
        found = await self._load(sql + " FOR UPDATE" if for_update else sql, contract_id)
        return found[0] if found else None

    async def open_of_request(self, request_id: str, *, before_revision: int | None = None) -> list[Contract]:
        """The open contracts of a request (of older revisions than ``before_revision``), row-locked."""
        if before_revision is None:
            sql = f"{_SELECT_CONTRACT} WHERE request_id = $1 AND {_IS_OPEN} ORDER BY revision FOR UPDATE"
            return await self._load(sql, request_id)
        sql = f"{_SELECT_CONTRACT} WHERE request_id = $1 AND {_IS_OPEN} AND revision < $2 ORDER BY revision FOR UPDATE"
        return await self._load(sql, request_id, before_revision)

    async def due_for_expiry(self, *, now: datetime, limit: int) -> list[Contract]:
        """Open contracts whose signing period ended; concurrent callers claim disjoint rows (SKIP LOCKED)."""
        sql = (
            f"{_SELECT_CONTRACT} WHERE {_IS_OPEN} AND expires_at <= $1"
            " ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED"
        )
        return await self._load(sql, now, limit)

    async def next_expiry_at(self) -> datetime | None:
        """When the earliest open contract expires (the partial index ``ix_contract_open_expires_at``)."""
        due: datetime | None = await (await self._conn()).fetchval(
            f"SELECT min(expires_at) FROM contract WHERE {_IS_OPEN}"  # noqa: S608 (constant statuses)
        )
        return due

    async def newest_revision(self, request_id: str) -> int | None:
        newest: int | None = await (await self._conn()).fetchval(
            "SELECT revision FROM contract WHERE request_id = $1 ORDER BY revision DESC LIMIT 1", request_id
        )
        return newest

    async def draft_document(self, contract_id: str) -> bytes:
        """The draft PDF, checked against ``document_sha256``."""
        return await self._pdf(contract_id, "draft")

    async def executed_document(self, contract_id: str) -> bytes:
        """The executed PDF, checked against ``executed_sha256``."""
        return await self._pdf(contract_id, "executed")

    async def _pdf(self, contract_id: str, scope: str) -> bytes:
        found = await (await self._conn()).fetchrow(_PDF_SQL[scope], contract_id)
        if found is None or found[2] is None or (found[0] is None and found[1] is None):
            raise LookupError(f"contract {contract_id} has no such document")
        content, object_key, sha256 = found
        if object_key is not None:
            return await self.store.get(object_key, sha256=sha256)
        if sha256_hex(content) != sha256:
            raise TamperedObject(f"the stored document of contract {contract_id} failed its integrity check")
        return bytes(content)

    async def add(self, aggregate: Contract) -> None:
        """Insert a contract made by ``Contract.generate`` (with its draft)."""
        if aggregate.draft is None:
            raise ValueError("a new contract needs its draft")
        stored = await self.store.put(
            f"contracts/{aggregate.id}/draft-{aggregate.document_sha256}.pdf",
            aggregate.draft.document,
            content_type=PDF,
        )
        await (await self._conn()).execute(
            _INSERT_CONTRACT,
            aggregate.id,
            aggregate.request_id,
            aggregate.revision,
            aggregate.request_number,
            aggregate.vendor_id,
            aggregate.requester_id,
            aggregate.language,
            aggregate.template_version,
            aggregate.status.value,
            aggregate.signing_order.value,
            stored.key,
            stored.sha256,
            json.dumps(aggregate.draft.data),
            aggregate.generated_at,
            aggregate.expires_at,
        )
        if self.earliest_expiry is None or aggregate.expires_at < self.earliest_expiry:
            self.earliest_expiry = aggregate.expires_at
        self._track(aggregate)

    async def save(self, aggregate: Contract) -> None:
        """Write what changed since it was loaded: status, closing, execution, new signatures."""
        conn = await self._conn()
        for signature in aggregate.new_signatures:
            row = _signature_row(aggregate.id, signature)
            await conn.execute(_INSERT_SIGNATURE, *(row[name] for name in _SIGNATURE_COLUMNS))
        aggregate.new_signatures = []
        closed_reason = aggregate.closed_reason[:2000] if aggregate.closed_reason else None
        head = (aggregate.id, aggregate.status.value, aggregate.closed_at, closed_reason)
        if aggregate.sealed is None:
            await conn.execute(_UPDATE_CONTRACT, *head)
            return
        stored = await self.store.put(
            f"contracts/{aggregate.id}/executed-{aggregate.sealed.sha256}.pdf",
            aggregate.sealed.content,
            content_type=PDF,
        )
        await conn.execute(_UPDATE_EXECUTED, *head, stored.key, aggregate.sealed.sha256, aggregate.executed_at)

    async def add_refusal(self, refusal: Refusal) -> None:
        row = {
            "id": str(uuid.uuid4()),
            "contract_id": refusal.contract_id,
            "party": refusal.party.value,
            "signer_name": refusal.signer_name,
            "signer_email": refusal.signer_email,
            "document_sha256": refusal.document_sha256,
            "reason": refusal.reason,
            "detail": refusal.detail,
            "client_ip": refusal.client_ip,
            "user_agent": refusal.user_agent,
            "channel": refusal.channel,
            "event_id": refusal.event_id,
            "refused_at": refusal.refused_at,
        }
        await (await self._conn()).execute(_INSERT_REFUSAL, *(row[name] for name in _REFUSAL_COLUMNS))

    async def _load(self, sql: str, *args: Any) -> list[Contract]:
        rows = [dict(r) for r in await (await self._conn()).fetch(sql, *args)]
        signatures = await self._signatures_of([r["id"] for r in rows])
        loaded = [_to_domain(row, signatures.get(row["id"], [])) for row in rows]
        for aggregate in loaded:
            self._track(aggregate)
        return loaded

    async def _signatures_of(self, contract_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        if not contract_ids:
            return {}
        found: dict[str, list[dict[str, Any]]] = {}
        for row in await (await self._conn()).fetch(_SELECT_SIGNATURES, list(contract_ids)):
            found.setdefault(row["contract_id"], []).append(dict(row))
        return found

    # read queries --------------------------------------------------------------------------------

    async def row(self, contract_id: str) -> dict[str, Any] | None:
        """One contract's columns, without its PDFs (``draft_document``, ``executed_document``)."""
        found = await (await self._conn()).fetchrow(f"{_SELECT_CONTRACT} WHERE id = $1", contract_id)
        return dict(found) if found else None

    async def rows_of_request(self, request_id: str) -> list[dict[str, Any]]:
        sql = f"{_SELECT_CONTRACT} WHERE request_id = $1 ORDER BY revision"
        return [dict(r) for r in await (await self._conn()).fetch(sql, request_id)]

    async def executed_with_sha256(self, digest: str) -> dict[str, Any] | None:
        found = await (await self._conn()).fetchrow(f"{_SELECT_CONTRACT} WHERE executed_sha256 = $1", digest)
        return dict(found) if found else None

    async def signature_rows(self, contract_id: str) -> list[dict[str, Any]]:
        return (await self._signatures_of([contract_id])).get(contract_id, [])

    async def refusal_rows(self, contract_id: str) -> list[dict[str, Any]]:
        return [dict(r) for r in await (await self._conn()).fetch(_SELECT_REFUSALS, contract_id)]


def _row_of(table: Any, alias: str) -> str:
    """The table's columns as one anonymous row (``ROW (...)``), UUIDs as text, as ``_columns`` lists them."""
    return (
        "ROW ("
        + ", ".join(f"{alias}.{c.name}::text" if isinstance(c.type, UUID) else f"{alias}.{c.name}" for c in table.c)
        + ")"
    )


_SIGNATURE_NAMES = tuple(c.name for c in contract_signature.c)
_REFUSAL_NAMES = tuple(c.name for c in signature_refusal.c)
_SELECT_VIEWS = (
    f"SELECT {_AGGREGATE},"  # noqa: S608 (column names of the model)
    f" ARRAY (SELECT {_row_of(contract_signature, 's')} FROM contract_signature s WHERE s.contract_id = contract.id"
    " ORDER BY s.signed_at) AS read_signatures,"
    f" ARRAY (SELECT {_row_of(signature_refusal, 'f')} FROM signature_refusal f WHERE f.contract_id = contract.id::text"
    " ORDER BY f.refused_at) AS read_refusals"
    " FROM contract"
)
_VIEW_OF_CONTRACT = f"{_SELECT_VIEWS} WHERE id = $1"
_VIEWS_OF_REQUEST = f"{_SELECT_VIEWS} WHERE request_id = $1 ORDER BY revision"


async def contract_views(
    conn: asyncpg.Connection, *, contract_id: str | None = None, request_id: str | None = None
) -> list[tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]]:
    """The contract ``contract_id`` (or those of ``request_id``, by revision), each with its signatures and
    refusals: what ``row`` (``rows_of_request``), ``signature_rows`` and ``refusal_rows`` read in a
    statement each, in ONE, for a connection without a transaction (``backoffice_common.db.read_connection``)
    on one snapshot. The same values: the rows in the column order of their tables, UUIDs as text."""
    if contract_id is not None:
        records = await conn.fetch(_VIEW_OF_CONTRACT, contract_id)
    else:
        records = await conn.fetch(_VIEWS_OF_REQUEST, request_id)
    views = []
    for record in records:
        row = dict(record.items())
        signatures = [dict(zip(_SIGNATURE_NAMES, r, strict=True)) for r in row.pop("read_signatures")]
        refusals = [dict(zip(_REFUSAL_NAMES, r, strict=True)) for r in row.pop("read_refusals")]
        views.append((row, signatures, refusals))
    return views


def _signature_row(contract_id: str, signature: Signature) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "contract_id": contract_id,
        "party": signature.party.value,
        "signer_id": signature.signer_id,
        "signer_name": signature.signer_name,
        "signer_email": signature.signer_email,
        "role": signature.role,
        "document_sha256": signature.document_sha256,
        "signed_at": signature.signed_at,
        "client_ip": signature.client_ip,
        "user_agent": signature.user_agent,
        "channel": signature.channel,
        "event_id": signature.event_id,
    }


def _to_domain(row: dict[str, Any], signature_rows: list[dict[str, Any]]) -> Contract:
    return Contract(
        id=row["id"],
        request_id=row["request_id"],
        revision=row["revision"],
        vendor_id=row["vendor_id"],
        status=Status(row["status"]),
        signing_order=SigningOrder(row["signing_order"]),
        document_sha256=row["document_sha256"],
        expires_at=row["expires_at"],
        signatures=[
            Signature(
                party=Party(s["party"]),
                signer_id=s["signer_id"],
                signer_name=s["signer_name"],
                signer_email=s["signer_email"],
                role=s["role"],
                document_sha256=s["document_sha256"],
                signed_at=s["signed_at"],
                client_ip=s["client_ip"],
                user_agent=s["user_agent"],
                channel=s["channel"],
                event_id=s["event_id"],
            )
            for s in signature_rows
        ],
        request_number=row["request_number"],
        requester_id=row["requester_id"],
        language=row["language"],
        template_version=row["template_version"],
        generated_at=row["generated_at"],
        closed_at=row["closed_at"],
        closed_reason=row["closed_reason"],
        executed_at=row["executed_at"],
    )
