"""Builders shared by the contracts tests: order snapshots, vendor records and the events carrying them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from backoffice_common.events import CloudEvent, new_event

JWT_SECRET = "contracts-test-secret-" + "x" * 20


def vendor_record(*, language: str = "en", name: str | None = None, vendor_id: str | None = None) -> dict[str, Any]:
    return {
        "vendor_id": vendor_id or str(uuid.uuid4()),
        "legal_name": name or ("Müller Bürotechnik GmbH" if language == "de" else "Acme Supplies Ltd"),
        "address": "Hauptstraße 5, 80331 München" if language == "de" else "1 Market Street, London",
        "contact_emails": ["sales@vendor.example"],
        "language": language,
        "status": "active",
        "has_webhook": False,
        "updated_at": datetime.now(UTC).isoformat(),
    }


def snapshot(
    *, vendor_id: str, revision: int = 1, request_id: str | None = None, number: str | None = None
) -> dict[str, Any]:
    return {
        "request_id": request_id or str(uuid.uuid4()),
        "number": number or f"PR-{uuid.uuid4().int % 1_000_000:06d}",
        "revision": revision,
        "title": "Laptops for the new team",
        "description": "Two laptops and docking stations",
        "requester": {"id": "alice", "name": "Alice", "email": "alice@example.com", "department": "ENG"},
        "department": "ENG",
        "cost_center": "CC-100",
        "category": "hardware",
        "vendor_id": vendor_id,
        "currency": "EUR",
        "lines": [
            {
                "line_no": 1,
                "description": "Laptop 14 inch",
                "quantity": "2",
                "unit": "pcs",
                "unit_price": "1200.00",
                "amount": "2400.00",
                "sku": "LT-14",
            },
            {
                "line_no": 2,
                "description": "Docking station",
                "quantity": "3",
                "unit": "pcs",
                "unit_price": "189.50",
                "amount": "568.50",
                "sku": None,
            },
        ],
        "total": "2968.50",
        "needed_by": "2027-01-15",
    }


def vendor_accepted(request: dict[str, Any], vendor: dict[str, Any]) -> CloudEvent:
    return new_event(
        type="vendor.accepted",
        service="notifications",
        subject=request["request_id"],
        data={
            "schema_version": 1,
            "request": request,
            "vendor": vendor,
            "expected_delivery": "2027-01-10",
            "note": "",
            "actor": {"id": f"vendor:{vendor['vendor_id']}", "name": vendor["legal_name"], "role": "vendor"},
        },
    )


def approved(request: dict[str, Any], *approver_ids: str, chain_id: str | None = None) -> CloudEvent:
    """``purchase_request.approved`` of ``request`` by ``approver_ids`` (bob when none is named)."""
    people = [{"id": i, "name": i.title(), "email": f"{i}@example.com"} for i in approver_ids or ("bob",)]
    return new_event(
        type="purchase_request.approved",
        service="approvals",
        subject=request["request_id"],
        data={
            "schema_version": 1,
            "request": request,
            "chain_id": chain_id or str(uuid.uuid4()),
            "approvers": people,
            "actor": {"id": "system", "name": "approvals", "role": "system"},
        },
    )


def vendor_signed(
    generated: CloudEvent, *, document_sha256: str | None = None, vendor_id: str | None = None
) -> CloudEvent:
    data = generated.data
    return new_event(
        type="vendor.contract_signed",
        service="notifications",
        subject=data["request_id"],
        data={
            "schema_version": 1,
            "contract_id": data["contract_id"],
            "request_id": data["request_id"],
            "vendor_id": vendor_id or data["vendor_id"],
            "document_sha256": document_sha256 or data["document_sha256"],
            "signer_name": "Vera Vendor",
            "signer_email": "vera@vendor.example",
            "signed_at": datetime.now(UTC).isoformat(),
            "client_ip": "203.0.113.7",
            "user_agent": "Mozilla/5.0 (vendor)",
            "channel": "link",
            "actor": {"id": f"vendor:{vendor_id or data['vendor_id']}", "name": "Acme Supplies Ltd", "role": "vendor"},
        },
    )


def cancelled(request: dict[str, Any], *, reason: str = "no longer needed") -> CloudEvent:
    return new_event(
        type="purchase_request.cancelled",
        service="requests",
        subject=request["request_id"],
        data={
            "schema_version": 1,
            "request_id": request["request_id"],
            "revision": request["revision"],
            "reason": reason,
            "previous_status": "vendor_accepted",
            "vendor_id": request["vendor_id"],
            "actor": {"id": "alice", "name": "Alice", "role": "requester"},
        },
    )


async def generate_contract(
    env: Any, *, language: str = "en", vendor: dict[str, Any] | None = None
) -> tuple[CloudEvent, dict[str, Any]]:
    """Publish the approval (by bob) and a vendor acceptance, wait for the contract and until the approval is
    recorded; returns (contract.generated, the snapshot)."""
    vendor = vendor or vendor_record(language=language)
    request = snapshot(vendor_id=vendor["vendor_id"])
    await env.publish("backoffice.approvals", approved(request))
    await env.publish("backoffice.notifications", vendor_accepted(request, vendor))
    generated = await env.reader.wait_for("contract.generated", subject=request["request_id"])
    await wait_for_approval(env, request["request_id"])
    return generated[0], request


async def wait_for_approval(env: Any, request_id: str) -> None:
    """Until the contracts service has read the request's ``purchase_request.approved``."""
    import asyncpg

    from backoffice_common.testing import eventually

    async def recorded() -> bool:
        connection = await asyncpg.connect(env.database_url.replace("postgresql+asyncpg", "postgresql"))
        try:
            found = await connection.fetchval("SELECT count(*) FROM request_approval WHERE request_id = $1", request_id)
        finally:
            await connection.close()
        return bool(found)

    await eventually(recorded)


def local_path(url: str) -> str:
    """The path and query of an absolute document_url, for the in-process client."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


async def execute(env: Any) -> tuple[CloudEvent, bytes]:
    """Generate a contract, have both parties sign it; returns (contract.generated, the executed PDF)."""
    generated, request = await generate_contract(env)
    await env.publish("backoffice.notifications", vendor_signed(generated))
    await env.reader.wait_for("contract.signed", subject=request["request_id"])
    r = await env.client.post(
        f"/contracts/{generated.data['contract_id']}/signatures",
        json={"document_sha256": generated.data["document_sha256"]},
        headers=env.token("paula", ["procurement"], name="Paula Procurement"),
    )
    assert r.status_code == 201, r.text
    pdf = await env.client.get(
        f"/contracts/{generated.data['contract_id']}/executed.pdf", headers=env.token("paula", ["procurement"])
    )
    return generated, pdf.content
