"""backoffice.contracts: signing links for the vendor, the buyer signatory's email, requester updates."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.dialects.postgresql import insert as pg_insert

from backoffice_common.consumer import Handler
from backoffice_common.events import CloudEvent
from backoffice_common.uow import UnitOfWork
from backoffice_notifications.consumers.payloads import ContractClosed, ContractExecuted, ContractGenerated, parse
from backoffice_notifications.deliveries.enqueue import enqueue_email, enqueue_webhook
from backoffice_notifications.flows.links import create_link
from backoffice_notifications.flows.orders import get_order, get_vendor
from backoffice_notifications.models import contract_view
from backoffice_notifications.settings import Settings


def _when(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def handlers(settings: Settings) -> dict[str, Handler]:
    async def generated(event: CloudEvent, uow: UnitOfWork) -> None:
        body = parse(ContractGenerated, event)
        expires = _when(body.expires_at)
        await uow.session.execute(
            pg_insert(contract_view)
            .values(
                contract_id=body.contract_id,
                request_id=body.request_id,
                vendor_id=body.vendor_id,
                document_sha256=body.document_sha256,
                document_url=body.document_url,
                expires_at=expires,
                status="awaiting_signature",
            )
            .on_conflict_do_nothing()
        )
        order = await get_order(uow, body.request_id)
        number = (order["snapshot"].get("number") if order else None) or body.request_id
        revision = body.revision or (order["revision"] if order else 0)
        common = {
            "contract_id": body.contract_id,
            "number": number,
            "document_sha256": body.document_sha256,
            "document_url": body.document_url,
        }
        vendor_row = await get_vendor(uow, body.vendor_id)
        if vendor_row is not None:
            url, link_expires = await create_link(
                session=uow.session,
                settings=settings,
                purpose="sign_contract",
                request_id=body.request_id,
                revision=revision,
                vendor_id=body.vendor_id,
                contract_id=body.contract_id,
                expires_at=expires,
            )
            context = common | {
                "vendor_name": vendor_row["legal_name"],
                "sign_url": url,
                "expires_at": link_expires.date(),
            }
            for email in vendor_row["contact_emails"]:
                await enqueue_email(
                    session=uow.session,
                    cause=event,
                    template="contract_ready_vendor",
                    language=body.language or vendor_row["language"],
                    recipient=email,
                    context=context,
                    request_id=body.request_id,
                    vendor_id=body.vendor_id,
                )
            if vendor_row["webhook_url"]:
                await enqueue_webhook(
                    session=uow.session,
                    cause=event,
                    template="contract_ready",
                    url=vendor_row["webhook_url"],
                    payload={
                        "type": "contract.ready_to_sign",
                        "vendor_id": body.vendor_id,
                        "request_id": body.request_id,
                        "sign_url": url,
                        **common,
                    },
                    request_id=body.request_id,
                    vendor_id=body.vendor_id,
                )
        await enqueue_email(
            session=uow.session,
            cause=event,
            template="contract_ready_buyer",
            language="en",
            recipient=settings.buyer_signatory_email,
            context=common,
            request_id=body.request_id,
        )
        if order is not None:
            requester = order["snapshot"].get("requester") or {}
            await enqueue_email(
                session=uow.session,
                cause=event,
                template="contract_ready_requester",
                language="en",
                recipient=requester.get("email", ""),
                context=common | {"requester": requester},
                request_id=body.request_id,
            )

    async def executed(event: CloudEvent, uow: UnitOfWork) -> None:
        body = parse(ContractExecuted, event)
        contract = (
            (
                await uow.session.execute(
                    contract_view.update()
                    .where(contract_view.c.contract_id == body.contract_id)
                    .values(status="executed")
                    .returning(contract_view.c.vendor_id)
                )
            )
            .mappings()
            .first()
        )
        order = await get_order(uow, body.request_id)
        number = (order["snapshot"].get("number") if order else None) or body.request_id
        if order is not None:
            requester = order["snapshot"].get("requester") or {}
            await enqueue_email(
                session=uow.session,
                cause=event,
                template="contract_executed",
                language="en",
                recipient=requester.get("email", ""),
                request_id=body.request_id,
                context={"requester": requester, "number": number, "executed_sha256": body.executed_sha256},
            )
        vendor_row = await get_vendor(uow, contract["vendor_id"] if contract else None)
        if vendor_row is not None and body.document_url:
            context = {
                "vendor_name": vendor_row["legal_name"],
                "number": number,
                "executed_sha256": body.executed_sha256,
                "document_url": body.document_url,
            }
            for email in vendor_row["contact_emails"]:
                await enqueue_email(
                    session=uow.session,
                    cause=event,
                    template="contract_executed_vendor",
                    language=vendor_row["language"],
                    recipient=email,
                    context=context,
                    request_id=body.request_id,
                    vendor_id=vendor_row["id"],
                )

    def closed(status: str) -> Handler:
        async def handle(event: CloudEvent, uow: UnitOfWork) -> None:
            body = parse(ContractClosed, event)
            await uow.session.execute(
                contract_view.update().where(contract_view.c.contract_id == body.contract_id).values(status=status)
            )

        return handle

    return {
        "contract.generated": generated,
        "contract.executed": executed,
        "contract.voided": closed("voided"),
        "contract.expired": closed("expired"),
    }
