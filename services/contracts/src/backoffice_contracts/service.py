"""Use cases of the contracts service. Keyword-only; they never commit (the caller's unit of work does)."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from backoffice_common.auth import User
from backoffice_common.events import CloudEvent, new_event
from backoffice_common.uow import UnitOfWork
from backoffice_contracts import links, pdf, repository, sealing
from backoffice_contracts.domain.contract import (
    OPEN_STATUSES,
    Contract,
    Party,
    Signature,
    SignatureRefused,
    Status,
    WrongVendor,
)
from backoffice_contracts.domain.document import PartyDetails, contract_data, language_for
from backoffice_contracts.messages import PurchaseRequestCancelled, VendorAccepted, VendorContractSigned
from backoffice_contracts.models import (
    cancelled_request,
    contract,
    contract_signature,
    contract_template,
    signature_refusal,
)
from backoffice_contracts.runtime import Runtime

SERVICE = "contracts"
TOPIC = "backoffice.contracts"
SYSTEM_ACTOR = {"id": "system", "name": SERVICE, "role": "system"}
BUYER_SIGNER_ROLES = ("procurement",)


class ContractNotFound(Exception):
    pass


class NotAllowed(Exception):
    pass


class SealingFailed(RuntimeError):
    """The executed PDF could not be built or signed (certificate, key, renderer); nothing was recorded."""


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _publish(uow: UnitOfWork, *, type: str, request_id: str, data: dict[str, Any], cause: CloudEvent | None) -> None:
    event = new_event(type=type, service=SERVICE, subject=request_id, data={"schema_version": 1, **data}, cause=cause)
    uow.publish(event, topic=TOPIC)


def document_url(runtime: Runtime, *, contract_id: str, expires_at: datetime, scope: str = "draft") -> str:
    """An absolute, read-only, expiring link to the draft or executed PDF (``scope``) for people without a JWT."""
    token = links.issue(
        secret=runtime.settings.link_secret, contract_id=contract_id, scope=scope, expires_at=expires_at
    )
    return f"{runtime.settings.public_base_url.rstrip('/')}/contracts/{contract_id}/{scope}.pdf?token={token}"


async def generate_contract(
    *, uow: UnitOfWork, runtime: Runtime, accepted: VendorAccepted, cause: CloudEvent | None, now: datetime
) -> str:
    """Draft the contract of one request revision, once; returns what happened (for the inbox)."""
    session = uow.session
    request = accepted.request
    cancelled = await session.scalar(
        select(cancelled_request.c.request_id).where(cancelled_request.c.request_id == request.request_id)
    )
    if cancelled is not None:
        return "ignored: the request was cancelled"
    newest = await session.scalar(
        select(contract.c.revision)
        .where(contract.c.request_id == request.request_id)
        .order_by(contract.c.revision.desc())
        .limit(1)
    )
    if newest is not None and newest >= request.revision:
        return f"ignored: a contract for revision {newest} exists"
    record = accepted.vendor
    await repository.upsert_vendor(
        session,
        {
            "vendor_id": record.vendor_id,
            "legal_name": record.legal_name,
            "address": record.address_text,
            "contact_emails": record.contact_emails,
            "language": language_for(record.language),
            "status": record.status[:20],
            "updated_at": record.updated_at,
        },
    )
    vendor = await repository.get_vendor(session, record.vendor_id)
    assert vendor is not None
    language = language_for(vendor["language"])
    template = await repository.latest_template(session, language)
    if template is None:
        raise RuntimeError(f"no contract template for language {language!r}")
    settings = runtime.settings
    contract_id = str(uuid.uuid4())
    data = contract_data(
        contract_id=contract_id,
        language=language,
        request=request.model_dump(mode="json"),
        vendor=PartyDetails(
            name=vendor["legal_name"], address=vendor["address"], email=next(iter(vendor["contact_emails"]), "")
        ),
        buyer=PartyDetails(name=settings.buyer_legal_name, address=settings.buyer_address),
        expected_delivery=accepted.expected_delivery.isoformat() if accepted.expected_delivery else None,
        note=accepted.note or "",
        issued_on=now.date(),
        template_version=template["version"],
    )
    document = await asyncio.to_thread(pdf.render, template["body"], data, at=now)
    digest = sha256(document)
    expires_at = now + timedelta(hours=settings.signature_ttl_hours)
    await _supersede_older(uow, request_id=request.request_id, revision=request.revision, cause=cause, now=now)
    await session.execute(
        contract.insert().values(
            id=contract_id,
            request_id=request.request_id,
            revision=request.revision,
            request_number=request.number,
            vendor_id=record.vendor_id,
            requester_id=request.requester.id,
            language=language,
            template_version=template["version"],
            status=Status.AWAITING_SIGNATURES.value,
            signing_order=settings.signing_order,
            document=document,
            document_sha256=digest,
            data=data,
            generated_at=now,
            expires_at=expires_at,
        )
    )
    link_expiry = min(expires_at, now + timedelta(hours=settings.document_link_ttl_hours))
    _publish(
        uow,
        type="contract.generated",
        request_id=request.request_id,
        cause=cause,
        data={
            "contract_id": contract_id,
            "request_id": request.request_id,
            "revision": request.revision,
            "vendor_id": record.vendor_id,
            "document_sha256": digest,
            "signers_required": [Party.BUYER.value, Party.VENDOR.value],
            "signing_order": settings.signing_order,
            "language": language,
            "expires_at": expires_at.isoformat(),
            "document_url": document_url(runtime, contract_id=contract_id, expires_at=link_expiry),
            "actor": SYSTEM_ACTOR,
        },
    )
    return f"generated {contract_id}"


async def _supersede_older(
    uow: UnitOfWork, *, request_id: str, revision: int, cause: CloudEvent | None, now: datetime
) -> None:
    rows = await uow.session.execute(
        select(contract.c.id)
        .where(
            contract.c.request_id == request_id,
            contract.c.revision < revision,
            contract.c.status.in_([s.value for s in OPEN_STATUSES]),
        )
        .with_for_update()
    )
    for (contract_id,) in rows.all():
        reason = f"superseded by the contract of revision {revision}"
        await _close(uow, contract_id=contract_id, status=Status.VOIDED, reason=reason, now=now)
        _publish(
            uow,
            type="contract.voided",
            request_id=request_id,
            cause=cause,
            data={"contract_id": contract_id, "request_id": request_id, "reason": reason, "actor": SYSTEM_ACTOR},
        )


async def _close(uow: UnitOfWork, *, contract_id: str, status: Status, reason: str, now: datetime) -> None:
    await uow.session.execute(
        update(contract)
        .where(contract.c.id == contract_id)
        .values(status=status.value, closed_at=now, closed_reason=reason[:2000])
    )


def may_sign_for_buyer(user: User, runtime: Runtime) -> bool:
    return user.has_any(*BUYER_SIGNER_ROLES) or user.sub in runtime.settings.buyer_signers


def may_read(user: User, row: dict[str, Any], runtime: Runtime) -> bool:
    return user.sees_everything or user.sub == row["requester_id"] or user.sub in runtime.settings.buyer_signers


async def sign_as_buyer(
    *,
    uow: UnitOfWork,
    runtime: Runtime,
    contract_id: str,
    user: User,
    document_sha256: str,
    client_ip: str | None,
    user_agent: str | None,
    now: datetime,
) -> None:
    """Record the buyer's signature; raises ``SignatureRefused`` (nothing written) when it may not be."""
    row = await repository.get_row(uow.session, contract_id, for_update=True)
    if row is None or not may_read(user, row, runtime):
        raise ContractNotFound(contract_id)
    if not may_sign_for_buyer(user, runtime):
        raise NotAllowed("only procurement or a configured buyer signatory signs for the buyer")
    aggregate = repository.to_domain(row, await repository.signatures(uow.session, contract_id))
    role = "procurement" if user.has_any("procurement") else "buyer_signatory"
    signature = Signature(
        party=Party.BUYER,
        signer_id=user.sub,
        signer_name=user.name or user.sub,
        signer_email=user.email,
        role=role,
        document_sha256=document_sha256.lower(),
        signed_at=now,
        client_ip=client_ip,
        user_agent=(user_agent or "")[:500] or None,
        channel="api",
    )
    aggregate.sign(signature, now=now)
    await _store_signature(
        uow,
        runtime,
        row=row,
        aggregate=aggregate,
        signature=signature,
        event_id=None,
        cause=None,
        actor={"id": user.sub, "name": user.name or user.sub, "role": role},
        now=now,
    )


async def record_vendor_signature(
    *, uow: UnitOfWork, runtime: Runtime, signed: VendorContractSigned, cause: CloudEvent, now: datetime
) -> str:
    """Record the vendor's signature if it is for this vendor's current document; otherwise record the refusal."""
    session = uow.session
    row = None
    try:
        uuid.UUID(signed.contract_id)
        row = await repository.get_row(session, signed.contract_id, for_update=True)
    except ValueError:
        pass
    signature = Signature(
        party=Party.VENDOR,
        signer_id=signed.signer_email or signed.signer_name,
        signer_name=signed.signer_name,
        signer_email=signed.signer_email,
        role="vendor",
        document_sha256=signed.document_sha256.lower(),
        signed_at=signed.signed_at,
        client_ip=signed.client_ip,
        user_agent=signed.user_agent,
        channel=signed.channel,
    )
    try:
        if row is None:
            raise WrongVendor("no such contract")
        if row["vendor_id"] != signed.vendor_id or row["request_id"] != signed.request_id:
            raise WrongVendor("the contract belongs to another vendor or request")
        aggregate = repository.to_domain(row, await repository.signatures(session, row["id"]))
        aggregate.sign(signature, now=now)
    except SignatureRefused as refused:
        await session.execute(
            signature_refusal.insert().values(
                id=str(uuid.uuid4()),
                contract_id=signed.contract_id,
                party=Party.VENDOR.value,
                signer_name=signed.signer_name,
                signer_email=signed.signer_email,
                document_sha256=signed.document_sha256,
                reason=refused.code,
                detail=refused.message,
                client_ip=signed.client_ip,
                user_agent=signed.user_agent,
                channel=signed.channel,
                event_id=cause.id,
                refused_at=now,
            )
        )
        return f"refused: {refused.code}"
    actor = {"id": signature.signer_id, "name": signed.signer_name, "role": "vendor"}
    await _store_signature(
        uow,
        runtime,
        row=row,
        aggregate=aggregate,
        signature=signature,
        event_id=cause.id,
        cause=cause,
        actor=actor,
        now=now,
    )
    return "signed"


async def _store_signature(
    uow: UnitOfWork,
    runtime: Runtime,
    *,
    row: dict[str, Any],
    aggregate: Contract,
    signature: Signature,
    event_id: str | None,
    cause: CloudEvent | None,
    actor: dict[str, str],
    now: datetime,
) -> None:
    await uow.session.execute(
        contract_signature.insert().values(
            id=str(uuid.uuid4()),
            contract_id=aggregate.id,
            party=signature.party.value,
            signer_id=signature.signer_id,
            signer_name=signature.signer_name,
            signer_email=signature.signer_email,
            role=signature.role,
            document_sha256=signature.document_sha256,
            signed_at=signature.signed_at,
            client_ip=signature.client_ip,
            user_agent=signature.user_agent,
            channel=signature.channel,
            event_id=event_id,
        )
    )
    await uow.session.execute(
        update(contract).where(contract.c.id == aggregate.id).values(status=aggregate.status.value)
    )
    _publish(
        uow,
        type="contract.signed",
        request_id=aggregate.request_id,
        cause=cause,
        data={
            "contract_id": aggregate.id,
            "request_id": aggregate.request_id,
            "party": signature.party.value,
            "signer": {"id": signature.signer_id, "name": signature.signer_name, "email": signature.signer_email},
            "document_sha256": signature.document_sha256,
            "actor": actor,
        },
    )
    if aggregate.fully_signed:
        await _execute(uow, runtime, row=row, aggregate=aggregate, cause=cause, now=now)


def signature_page_data(row: dict[str, Any], aggregate: Contract) -> dict[str, Any]:
    de = row["language"] == "de"
    labels = {Party.BUYER: "Käufer" if de else "Buyer", Party.VENDOR: "Lieferant" if de else "Vendor"}
    return {
        "language": row["language"],
        "contract_id": aggregate.id,
        "number": row["request_number"],
        "document_sha256": aggregate.document_sha256,
        "signatures": [
            {
                "party_label": labels[s.party],
                "signer_name": s.signer_name,
                "signer_email": s.signer_email,
                "role": s.role,
                "channel": s.channel,
                "signed_at": s.signed_at.isoformat(timespec="seconds"),
                "client_ip": s.client_ip or "-",
                "user_agent": s.user_agent or "-",
                "document_sha256": s.document_sha256,
            }
            for s in sorted(aggregate.signatures, key=lambda s: s.signed_at)
        ],
    }


def build_executed_document(draft: bytes, page_data: dict[str, Any], runtime: Runtime) -> bytes:
    combined = pdf.append_pages(draft, pdf.render_signature_page(page_data))
    return sealing.seal(
        combined,
        runtime.identity(),
        reason=f"Executed contract {page_data['contract_id']}",
        location=runtime.settings.buyer_legal_name,
    )


async def _execute(
    uow: UnitOfWork,
    runtime: Runtime,
    *,
    row: dict[str, Any],
    aggregate: Contract,
    cause: CloudEvent | None,
    now: datetime,
) -> None:
    try:
        executed = await asyncio.to_thread(
            build_executed_document, row["document"], signature_page_data(row, aggregate), runtime
        )
    except Exception as exc:
        raise SealingFailed(f"the executed contract could not be sealed: {exc!r}"[:500]) from exc
    aggregate.execute()
    digest = sha256(executed)
    await uow.session.execute(
        update(contract)
        .where(contract.c.id == aggregate.id)
        .values(status=aggregate.status.value, executed_document=executed, executed_sha256=digest, executed_at=now)
    )
    _publish(
        uow,
        type="contract.executed",
        request_id=aggregate.request_id,
        cause=cause,
        data={
            "contract_id": aggregate.id,
            "request_id": aggregate.request_id,
            "document_sha256": aggregate.document_sha256,
            "executed_sha256": digest,
            "executed_at": now.isoformat(),
            "document_url": document_url(
                runtime,
                contract_id=aggregate.id,
                scope="executed",
                expires_at=now + timedelta(hours=runtime.settings.document_link_ttl_hours),
            ),
            "actor": SYSTEM_ACTOR,
        },
    )


async def void_for_cancellation(
    *, uow: UnitOfWork, cancelled: PurchaseRequestCancelled, cause: CloudEvent, now: datetime
) -> str:
    session = uow.session
    await session.execute(
        pg_insert(cancelled_request)
        .values(request_id=cancelled.request_id, revision=cancelled.revision, reason=cancelled.reason[:2000])
        .on_conflict_do_nothing(index_elements=["request_id"])
    )
    rows = await session.execute(
        select(contract.c.id, contract.c.status).where(contract.c.request_id == cancelled.request_id).with_for_update()
    )
    voided = 0
    for contract_id, status in rows.all():
        if Status(status) not in OPEN_STATUSES:
            continue
        reason = f"purchase request cancelled: {cancelled.reason}" if cancelled.reason else "purchase request cancelled"
        await _close(uow, contract_id=contract_id, status=Status.VOIDED, reason=reason, now=now)
        actor = cause.data.get("actor") if isinstance(cause.data.get("actor"), dict) else SYSTEM_ACTOR
        _publish(
            uow,
            type="contract.voided",
            request_id=cancelled.request_id,
            cause=cause,
            data={"contract_id": contract_id, "request_id": cancelled.request_id, "reason": reason, "actor": actor},
        )
        voided += 1
    return f"voided {voided}"


async def expire_due(*, uow: UnitOfWork, now: datetime, limit: int = 100) -> int:
    """Expire open contracts whose signing period ended; concurrent instances claim disjoint rows."""
    rows = await uow.session.execute(
        select(contract.c.id, contract.c.request_id)
        .where(contract.c.status.in_([s.value for s in OPEN_STATUSES]), contract.c.expires_at <= now)
        .order_by(contract.c.expires_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    claimed = rows.all()
    for contract_id, request_id in claimed:
        await _close(uow, contract_id=contract_id, status=Status.EXPIRED, reason="signing period ended", now=now)
        _publish(
            uow,
            type="contract.expired",
            request_id=request_id,
            cause=None,
            data={"contract_id": contract_id, "request_id": request_id, "actor": SYSTEM_ACTOR},
        )
    return len(claimed)


async def add_template(*, uow: UnitOfWork, language: str, body: str, description: str, user: User) -> dict[str, Any]:
    """A new version of a language's template, after checking it compiles with sample data."""
    await asyncio.to_thread(pdf.render, body, sample_data(language))
    session = uow.session
    version = await repository.next_template_version(session, language)
    values = {
        "id": str(uuid.uuid4()),
        "language": language,
        "version": version,
        "body": body,
        "description": description,
        "created_by": user.sub,
    }
    await session.execute(contract_template.insert().values(**values))
    return values


def sample_data(language: str) -> dict[str, Any]:
    from datetime import date

    return contract_data(
        contract_id=str(uuid.UUID(int=0)),
        language=language,
        request={
            "number": "PR-000000",
            "revision": 1,
            "title": "Sample",
            "description": "",
            "currency": "EUR",
            "total": "10.00",
            "needed_by": "2030-01-01",
            "requester": {"id": "sample", "name": "Sample"},
            "lines": [
                {
                    "line_no": 1,
                    "description": "Item",
                    "quantity": "1",
                    "unit": "pcs",
                    "unit_price": "10.00",
                    "amount": "10.00",
                }
            ],
        },
        vendor=PartyDetails(name="Vendor Ltd", address="1 Road", email="v@example.com"),
        buyer=PartyDetails(name="Buyer GmbH", address="Straße 1"),
        expected_delivery=None,
        note="",
        issued_on=date(2030, 1, 1),
        template_version=0,
    )
