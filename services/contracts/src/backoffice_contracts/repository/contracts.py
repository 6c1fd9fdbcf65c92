"""Loading and saving the contract aggregate, its refusals, and the read queries of the API."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice_common.objectstore import ObjectStore, TamperedObject, sha256_hex
from backoffice_contracts.domain.contract import OPEN_STATUSES, Contract, SigningOrder, Status
from backoffice_contracts.domain.signature import Party, Refusal, Signature
from backoffice_contracts.models import contract, contract_signature, signature_refusal

Track = Callable[[Any], None]

_AGGREGATE_COLUMNS = [c for c in contract.c if c.name not in ("document", "executed_document", "data")]
PDF = "application/pdf"
_OPEN = [s.value for s in OPEN_STATUSES]


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

    async def get(self, contract_id: str, *, for_update: bool = False) -> Contract | None:
        """The contract (row-locked with ``for_update``), or None, also for an id that is not a UUID."""
        if not _is_uuid(contract_id):
            return None
        found = await self._load(select(*_AGGREGATE_COLUMNS).where(contract.c.id == contract_id), for_update)
        return found[0] if found else None

    async def open_of_request(self, request_id: str, *, before_revision: int | None = None) -> list[Contract]:
        """The open contracts of a request (of older revisions than ``before_revision``), row-locked."""
        stmt = select(*_AGGREGATE_COLUMNS).where(contract.c.request_id == request_id, contract.c.status.in_(_OPEN))
        if before_revision is not None:
            stmt = stmt.where(contract.c.revision < before_revision)
        return await self._load(stmt.order_by(contract.c.revision), for_update=True)

    async def due_for_expiry(self, *, now: datetime, limit: int) -> list[Contract]:
        """Open contracts whose signing period ended; concurrent callers claim disjoint rows (SKIP LOCKED)."""
        stmt = (
            select(*_AGGREGATE_COLUMNS)
            .where(contract.c.status.in_(_OPEN), contract.c.expires_at <= now)
            .order_by(contract.c.expires_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return await self._load(stmt, for_update=False)

    async def next_expiry_at(self) -> datetime | None:
        """When the earliest open contract expires (the partial index ``ix_contract_open_expires_at``)."""
        due: datetime | None = await self._session.scalar(
            select(func.min(contract.c.expires_at)).where(contract.c.status.in_(_OPEN))
        )
        return due

    async def newest_revision(self, request_id: str) -> int | None:
        return await self._session.scalar(
            select(contract.c.revision)
            .where(contract.c.request_id == request_id)
            .order_by(contract.c.revision.desc())
            .limit(1)
        )

    async def draft_document(self, contract_id: str) -> bytes:
        """The draft PDF, checked against ``document_sha256``."""
        return await self._pdf(contract_id, contract.c.document, contract.c.document_key, contract.c.document_sha256)

    async def executed_document(self, contract_id: str) -> bytes:
        """The executed PDF, checked against ``executed_sha256``."""
        return await self._pdf(
            contract_id, contract.c.executed_document, contract.c.executed_key, contract.c.executed_sha256
        )

    async def _pdf(self, contract_id: str, inline: Any, key: Any, digest: Any) -> bytes:
        found = (await self._session.execute(select(inline, key, digest).where(contract.c.id == contract_id))).first()
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
        await self._session.execute(
            contract.insert().values(
                id=aggregate.id,
                request_id=aggregate.request_id,
                revision=aggregate.revision,
                request_number=aggregate.request_number,
                vendor_id=aggregate.vendor_id,
                requester_id=aggregate.requester_id,
                language=aggregate.language,
                template_version=aggregate.template_version,
                status=aggregate.status.value,
                signing_order=aggregate.signing_order.value,
                document_key=stored.key,
                document_sha256=stored.sha256,
                data=aggregate.draft.data,
                generated_at=aggregate.generated_at,
                expires_at=aggregate.expires_at,
            )
        )
        if self.earliest_expiry is None or aggregate.expires_at < self.earliest_expiry:
            self.earliest_expiry = aggregate.expires_at
        self._track(aggregate)

    async def save(self, aggregate: Contract) -> None:
        """Write what changed since it was loaded: status, closing, execution, new signatures."""
        for signature in aggregate.new_signatures:
            await self._session.execute(contract_signature.insert().values(_signature_row(aggregate.id, signature)))
        aggregate.new_signatures = []
        values: dict[str, Any] = {
            "status": aggregate.status.value,
            "closed_at": aggregate.closed_at,
            "closed_reason": aggregate.closed_reason[:2000] if aggregate.closed_reason else None,
        }
        if aggregate.sealed is not None:
            stored = await self.store.put(
                f"contracts/{aggregate.id}/executed-{aggregate.sealed.sha256}.pdf",
                aggregate.sealed.content,
                content_type=PDF,
            )
            values |= {
                "executed_key": stored.key,
                "executed_sha256": aggregate.sealed.sha256,
                "executed_at": aggregate.executed_at,
            }
        await self._session.execute(update(contract).where(contract.c.id == aggregate.id).values(**values))

    async def add_refusal(self, refusal: Refusal) -> None:
        await self._session.execute(
            signature_refusal.insert().values(
                id=str(uuid.uuid4()),
                contract_id=refusal.contract_id,
                party=refusal.party.value,
                signer_name=refusal.signer_name,
                signer_email=refusal.signer_email,
                document_sha256=refusal.document_sha256,
                reason=refusal.reason,
                detail=refusal.detail,
                client_ip=refusal.client_ip,
                user_agent=refusal.user_agent,
                channel=refusal.channel,
                event_id=refusal.event_id,
                refused_at=refusal.refused_at,
            )
        )

    async def _load(self, stmt: Select[Any], for_update: bool) -> list[Contract]:
        if for_update:
            stmt = stmt.with_for_update()
        rows = [dict(r) for r in (await self._session.execute(stmt)).mappings()]
        signatures = await self._signatures_of([r["id"] for r in rows])
        loaded = [_to_domain(row, signatures.get(row["id"], [])) for row in rows]
        for aggregate in loaded:
            self._track(aggregate)
        return loaded

    async def _signatures_of(self, contract_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        if not contract_ids:
            return {}
        rows = await self._session.execute(
            select(contract_signature)
            .where(contract_signature.c.contract_id.in_(contract_ids))
            .order_by(contract_signature.c.signed_at)
        )
        found: dict[str, list[dict[str, Any]]] = {}
        for row in rows.mappings():
            found.setdefault(row["contract_id"], []).append(dict(row))
        return found

    # read queries --------------------------------------------------------------------------------

    async def row(self, contract_id: str) -> dict[str, Any] | None:
        """One contract's columns, without its PDFs (``draft_document``, ``executed_document``)."""
        stmt = select(*_AGGREGATE_COLUMNS).where(contract.c.id == contract_id)
        found = (await self._session.execute(stmt)).mappings().first()
        return dict(found) if found else None

    async def rows_of_request(self, request_id: str) -> list[dict[str, Any]]:
        stmt = select(*_AGGREGATE_COLUMNS).where(contract.c.request_id == request_id).order_by(contract.c.revision)
        return [dict(r) for r in (await self._session.execute(stmt)).mappings()]

    async def executed_with_sha256(self, digest: str) -> dict[str, Any] | None:
        stmt = select(*_AGGREGATE_COLUMNS).where(contract.c.executed_sha256 == digest)
        found = (await self._session.execute(stmt)).mappings().first()
        return dict(found) if found else None

    async def signature_rows(self, contract_id: str) -> list[dict[str, Any]]:
        return (await self._signatures_of([contract_id])).get(contract_id, [])

    async def refusal_rows(self, contract_id: str) -> list[dict[str, Any]]:
        rows = await self._session.execute(
            select(signature_refusal)
            .where(signature_refusal.c.contract_id == contract_id)
            .order_by(signature_refusal.c.refused_at)
        )
        return [dict(r) for r in rows.mappings()]


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
