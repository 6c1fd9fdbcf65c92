"""The contract read model (contract_view): what the vendor is asked to sign.

On raw asyncpg through ``driver_connection`` (the session's connection and transaction): every contract
of a flow is added, read when the vendor signs, saved and set executed.
"""

from __future__ import annotations

from backoffice_common.db import driver_connection
from backoffice_notifications.domain.contracts import Contract
from backoffice_notifications.repository.base import Repository

_GET_SQL = (
    "SELECT contract_id, request_id, vendor_id, document_sha256, document_url, expires_at, status, signed_at"
    " FROM contract_view WHERE contract_id = $1"
)


class ContractRepository(Repository):
    async def add(self, contract: Contract) -> None:
        """A redelivered contract.generated changes nothing."""
        await (await driver_connection(self.session)).execute(
            "INSERT INTO contract_view (contract_id, request_id, vendor_id, document_sha256, document_url,"
            " expires_at, status) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
            contract.contract_id,
            contract.request_id,
            contract.vendor_id,
            contract.document_sha256,
            contract.document_url,
            contract.expires_at,
            contract.status,
        )

    async def get(self, contract_id: str | None, *, lock: bool = False) -> Contract | None:
        if contract_id is None:
            return None
        conn = await driver_connection(self.session)
        row = await conn.fetchrow(_GET_SQL + " FOR UPDATE" if lock else _GET_SQL, contract_id)
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
        await (await driver_connection(self.session)).execute(
            "UPDATE contract_view SET status = $2, signed_at = $3 WHERE contract_id = $1",
            contract.contract_id,
            contract.status,
            contract.signed_at,
        )

    async def set_status(self, contract_id: str, status: str) -> str | None:
        """The contract's vendor id, or None when the contract is unknown here."""
        vendor_id: str | None = await (await driver_connection(self.session)).fetchval(
            "UPDATE contract_view SET status = $2 WHERE contract_id = $1 RETURNING vendor_id", contract_id, status
        )
        return vendor_id
