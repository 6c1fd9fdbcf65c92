"""The contract read model (contract_view): what the vendor is asked to sign."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from backoffice_notifications.domain.contracts import Contract
from backoffice_notifications.models import contract_view
from backoffice_notifications.repository.base import Repository


class ContractRepository(Repository):
    async def add(self, contract: Contract) -> None:
        """A redelivered contract.generated changes nothing."""
        await self.session.execute(
            pg_insert(contract_view)
            .values(
                contract_id=contract.contract_id,
                request_id=contract.request_id,
                vendor_id=contract.vendor_id,
                document_sha256=contract.document_sha256,
                document_url=contract.document_url,
                expires_at=contract.expires_at,
                status=contract.status,
            )
            .on_conflict_do_nothing()
        )

    async def get(self, contract_id: str | None, *, lock: bool = False) -> Contract | None:
        query = select(contract_view).where(contract_view.c.contract_id == contract_id)
        if lock:
            query = query.with_for_update()
        row = (await self.session.execute(query)).mappings().first()
        if row is None:
            return None
        contract = Contract(
            contract_id=row["contract_id"],
            request_id=row["request_id"],
            vendor_id=row["vendor_id"],
            document_sha256=row["document_sha256"],
            document_url=row["document_url"],
            expires_at=row["expires_at"],
            status=row["status"],
            signed_at=row["signed_at"],
        )
        self.track(contract)
        return contract

    async def save(self, contract: Contract) -> None:
        await self.session.execute(
            contract_view.update()
            .where(contract_view.c.contract_id == contract.contract_id)
            .values(status=contract.status, signed_at=contract.signed_at)
        )

    async def set_status(self, contract_id: str, status: str) -> str | None:
        """The contract's vendor id, or None when the contract is unknown here."""
        result = await self.session.execute(
            contract_view.update()
            .where(contract_view.c.contract_id == contract_id)
            .values(status=status)
            .returning(contract_view.c.vendor_id)
        )
        vendor_id: str | None = result.scalar_one_or_none()
        return vendor_id
