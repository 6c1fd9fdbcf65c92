"""Signed-link pages: GET shows a form, POST acts; single-use, expiring, for one request and vendor."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select
from sqlalchemy.engine import RowMapping

from backoffice_common.app import UowDep
from backoffice_common.problems import Problem
from backoffice_common.uow import UnitOfWork
from backoffice_notifications.domain.links import LinkError
from backoffice_notifications.domain.orders import AWAITING_VENDOR
from backoffice_notifications.flows.links import load_link, mark_used
from backoffice_notifications.flows.orders import get_order, get_vendor
from backoffice_notifications.inbound.pages import page
from backoffice_notifications.inbound.responses import Signer, answer_order, sign_contract
from backoffice_notifications.models import contract_view
from backoffice_notifications.settings import Settings

router = APIRouter(prefix="/vendor-links", tags=["vendor links"])
MAX_FORM = 16 * 1024


def _html(status: int, title: str, message: str) -> HTMLResponse:
    return HTMLResponse(page("message", title=title, message=message), status_code=status)


def _field(form: dict[str, str], name: str, max_length: int) -> str:
    value = form.get(name, "").strip()
    if len(value) > max_length or "\x00" in value:
        raise Problem(
            422, "Request validation failed", f"{name}: at most {max_length} characters, no NUL", type="validation"
        )
    return value


async def _form(request: Request) -> dict[str, str]:
    raw = await request.body()
    if len(raw) > MAX_FORM:
        raise Problem(413, "Content Too Large", f"the form exceeds {MAX_FORM} bytes", type="too-large")
    from urllib.parse import parse_qsl

    try:
        pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError as exc:
        raise Problem(400, "Bad Request", "the form is not UTF-8", type="malformed-body") from exc
    return dict(pairs)


@router.get("/{token}", response_class=HTMLResponse)
async def show_link(token: str, request: Request, uow: UowDep) -> HTMLResponse:
    settings: Settings = request.app.state.settings
    try:
        link = await load_link(session=uow.session, settings=settings, token=token)
    except LinkError as exc:
        return _html(404 if "unknown" in str(exc) or "malformed" in str(exc) else 410, "Link not valid", str(exc))
    if link["used_at"] is not None:
        return _html(410, "Link already used", "This link has already been used.")
    vendor_row = await get_vendor(uow, link["vendor_id"])
    vendor_name = vendor_row["legal_name"] if vendor_row else ""
    order = await get_order(uow, link["request_id"])
    snapshot = order["snapshot"] if order else {}
    if link["purpose"] == "respond_order":
        if order is None or order["status"] != AWAITING_VENDOR or order["vendor_id"] != link["vendor_id"]:
            return _html(409, "Nothing to answer", "This order no longer waits for your answer.")
        return HTMLResponse(page("order", title="Purchase order", order=snapshot, vendor_name=vendor_name))
    contract = (
        (await uow.session.execute(select(contract_view).where(contract_view.c.contract_id == link["contract_id"])))
        .mappings()
        .first()
    )
    if contract is None:
        return _html(404, "Contract not found", "The contract of this link is unknown.")
    number = snapshot.get("number", link["request_id"])
    return HTMLResponse(
        page("contract", title="Sign the contract", contract=contract, number=number, vendor_name=vendor_name)
    )


@router.post("/{token}", response_class=HTMLResponse)
async def use_link(token: str, request: Request, uow: UowDep) -> HTMLResponse:
    settings: Settings = request.app.state.settings
    form = await _form(request)
    try:
        link = await load_link(session=uow.session, settings=settings, token=token, lock=True)
    except LinkError as exc:
        return _html(404 if "unknown" in str(exc) or "malformed" in str(exc) else 410, "Link not valid", str(exc))
    if link["used_at"] is not None:
        return _html(410, "Link already used", "This link has already been used.")
    try:
        message = await _act(link, form, request, uow)
    except Problem as exc:
        if exc.status != 409:
            raise
        return _html(409, "Not possible", exc.detail or exc.title)
    await mark_used(session=uow.session, link_id=link["id"])
    await uow.commit()
    return _html(200, "Done", message)


async def _act(link: RowMapping, form: dict[str, str], request: Request, uow: UnitOfWork) -> str:
    if link["purpose"] == "respond_order":
        action = form.get("action")
        if action not in ("accept", "decline"):
            raise Problem(422, "Request validation failed", "action: must be accept or decline", type="validation")
        expected: date | None = None
        raw_date = _field(form, "expected_delivery", 10)
        if raw_date:
            try:
                expected = date.fromisoformat(raw_date)
            except ValueError as exc:
                raise Problem(
                    422, "Request validation failed", "expected_delivery: not a YYYY-MM-DD date", type="validation"
                ) from exc
        reason = _field(form, "reason", 4000)
        if action == "decline" and not reason:
            raise Problem(422, "Request validation failed", "reason: required to decline", type="validation")
        await answer_order(
            uow=uow,
            request_id=link["request_id"],
            vendor_id=link["vendor_id"],
            accept=action == "accept",
            expected_delivery=expected,
            note=_field(form, "note", 4000),
            reason=reason,
            revision=link["revision"],
        )
        message = "Thank you: the order is accepted." if action == "accept" else "The order is declined."
    else:
        signer_name = _field(form, "signer_name", 300)
        if not signer_name or form.get("confirm") != "yes":
            raise Problem(
                422, "Request validation failed", "signer_name and confirm=yes are required", type="validation"
            )
        signer = Signer(
            name=signer_name,
            email=_field(form, "signer_email", 320),
            client_ip=request.client.host if request.client else "",
            user_agent=request.headers.get("user-agent", ""),
        )
        await sign_contract(
            uow=uow,
            contract_id=link["contract_id"],
            vendor_id=link["vendor_id"],
            document_sha256=_field(form, "document_sha256", 64),
            signer=signer,
            channel="link",
        )
        message = "Thank you: the contract is signed."
    return message
