"""Signed-link pages: GET shows a form, POST acts; single-use, expiring, for one request and vendor.

The answers are HTML pages, refusals included: a vendor follows these links in a browser.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Header, Request
from fastapi.responses import HTMLResponse

from backoffice_common.openapi import problem_responses
from backoffice_common.problems import Problem
from backoffice_notifications.api.deps import SettingsDep, Uow
from backoffice_notifications.api.pages import page, page_language, text
from backoffice_notifications.domain.contracts import Signer
from backoffice_notifications.domain.errors import ResponseRefused
from backoffice_notifications.domain.links import Link, LinkError, LinkNotFound, LinkUsed
from backoffice_notifications.domain.orders import Answer
from backoffice_notifications.service import links
from backoffice_notifications.service.responses import ContractSignature, OrderAnswer, VendorCommand

router = APIRouter(prefix="/vendor-links", tags=["vendor links"])
MAX_FORM = 16 * 1024
AcceptLanguage = Annotated[
    str | None,
    Header(max_length=1000, description="The page's language when the link names no known vendor (en, de)."),
]


def _pages(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """Refusals of the link itself are pages; refusals of the input are problems (``problem_responses``)."""
    wording = {
        404: "Link or contract not found",
        409: "The order no longer waits for this answer",
        410: "Link used or expired",
    }
    return {s: {"description": f"{wording[s]} (an HTML page)", "content": {"text/html": {}}} for s in statuses}


_TEXT = {"type": "string"}
_FORM = {
    "requestBody": {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "description": "An order link: action, expected_delivery, note, reason. A contract link: "
                    "signer_name, signer_email, document_sha256, confirm=yes.",
                    "properties": {
                        "action": {"type": "string", "enum": ["accept", "decline"]},
                        "expected_delivery": {"type": "string", "format": "date"},
                        "note": {**_TEXT, "maxLength": 4000},
                        "reason": {**_TEXT, "maxLength": 4000, "description": "required to decline"},
                        "signer_name": {**_TEXT, "maxLength": 300},
                        "signer_email": {**_TEXT, "maxLength": 320},
                        "document_sha256": {**_TEXT, "maxLength": 64},
                        "confirm": {"type": "string", "enum": ["yes"]},
                    },
                }
            }
        },
    }
}


def _html(status: int, title: str, message: str, *, lang: str = "en") -> HTMLResponse:
    return HTMLResponse(
        page("message", lang=lang, title=title, message=message),
        status_code=status,
        headers={"Content-Language": lang, "Vary": "Accept-Language"},
    )


def _refused(exc: LinkError | ResponseRefused, lang: str) -> HTMLResponse:
    """The HTML counterpart of api/problems.py for the link pages (the title translated, the detail as raised)."""
    if isinstance(exc, ResponseRefused):
        return _html(409, text(lang, "not_possible"), str(exc), lang=lang)
    if isinstance(exc, LinkUsed):
        return _html(410, text(lang, "link_used"), str(exc), lang=lang)
    return _html(404 if isinstance(exc, LinkNotFound) else 410, text(lang, "link_invalid"), str(exc), lang=lang)


def _shown(body: str, lang: str) -> HTMLResponse:
    return HTMLResponse(body, headers={"Content-Language": lang, "Vary": "Accept-Language"})


def _invalid(detail: str) -> Problem:
    return Problem(422, "Request validation failed", detail, type="validation")


def _field(form: dict[str, str], name: str, max_length: int) -> str:
    value = form.get(name, "").strip()
    if len(value) > max_length or "\x00" in value:
        raise _invalid(f"{name}: at most {max_length} characters, no NUL")
    return value


async def _form(request: Request) -> dict[str, str]:
    try:
        return dict(parse_qsl((await request.body()).decode("utf-8"), keep_blank_values=True, strict_parsing=False))
    except UnicodeDecodeError as exc:
        raise Problem(400, "Bad Request", "the form is not UTF-8", type="malformed-body") from exc


@router.get("/{token}", response_class=HTMLResponse, responses=_pages(404, 409, 410) | problem_responses(503))
async def show_link(
    token: str, uow: Uow, settings: SettingsDep, accept_language: AcceptLanguage = None
) -> HTMLResponse:
    """The order to answer or the contract to sign, in the vendor's language (``Accept-Language`` when the
    link names no vendor: an unknown, tampered or expired link)."""
    try:
        link = await links.open_link(uow, settings=settings, token=token)
    except LinkError as exc:
        return _refused(exc, page_language(None, accept_language))
    vendor = await uow.vendors.get(link.vendor_id)
    lang = page_language(vendor.language if vendor else None, accept_language)
    try:
        shown = await links.inspect(uow, settings=settings, token=token)
    except LinkError as exc:
        return _refused(exc, lang)
    if shown.link.purpose == "respond_order":
        if shown.order is None or not shown.order.waits_for(shown.link.vendor_id):
            return _html(409, text(lang, "nothing_to_answer"), text(lang, "no_longer_waits"), lang=lang)
        body = page(
            "order",
            lang=lang,
            title=text(lang, "purchase_order"),
            order=shown.order.snapshot,
            vendor_name=shown.vendor_name,
        )
        return _shown(body, lang)
    if shown.contract is None:
        return _html(404, text(lang, "contract_not_found"), text(lang, "contract_unknown"), lang=lang)
    number = shown.order.number if shown.order else shown.link.request_id
    body = page(
        "contract",
        lang=lang,
        title=text(lang, "sign_title"),
        contract=shown.contract,
        number=number,
        vendor_name=shown.vendor_name,
    )
    return _shown(body, lang)


@router.post(
    "/{token}",
    response_class=HTMLResponse,
    responses=_pages(404, 409, 410) | problem_responses(400, 413, 422, 503),
    openapi_extra=_FORM,
)
async def use_link(
    token: str, request: Request, uow: Uow, settings: SettingsDep, accept_language: AcceptLanguage = None
) -> HTMLResponse:
    form = await _form(request)
    lang = page_language(None, accept_language)
    try:
        link = await links.open_link(uow, settings=settings, token=token, lock=True)
        vendor = await uow.vendors.get(link.vendor_id)
        lang = page_language(vendor.language if vendor else None, accept_language)
        link.ensure_unused()
        command = _command(link, form, request)
        await links.redeem(uow, link=link, command=command, settings=settings)
    except (LinkError, ResponseRefused) as exc:
        return _refused(exc, lang)
    if isinstance(command, ContractSignature):
        return _html(200, text(lang, "done"), text(lang, "signed"), lang=lang)
    accepted = command.answer.accept
    return _html(200, text(lang, "done"), text(lang, "accepted" if accepted else "declined"), lang=lang)


def _command(link: Link, form: dict[str, str], request: Request) -> VendorCommand:
    if link.purpose == "respond_order":
        return _order_answer(link, form)
    signer_name = _field(form, "signer_name", 300)
    if not signer_name or form.get("confirm") != "yes":
        raise _invalid("signer_name and confirm=yes are required")
    signer = Signer(
        name=signer_name,
        email=_field(form, "signer_email", 320),
        client_ip=request.client.host if request.client else "",
        user_agent=request.headers.get("user-agent", ""),
    )
    return ContractSignature(str(link.contract_id), _field(form, "document_sha256", 64), signer)


def _order_answer(link: Link, form: dict[str, str]) -> OrderAnswer:
    action = form.get("action")
    if action not in ("accept", "decline"):
        raise _invalid("action: must be accept or decline")
    expected: date | None = None
    raw_date = _field(form, "expected_delivery", 10)
    if raw_date:
        try:
            expected = date.fromisoformat(raw_date)
        except ValueError as exc:
            raise _invalid("expected_delivery: not a YYYY-MM-DD date") from exc
    reason = _field(form, "reason", 4000)
    if action == "decline" and not reason:
        raise _invalid("reason: required to decline")
    answer = Answer(
        accept=action == "accept", expected_delivery=expected, note=_field(form, "note", 4000), reason=reason
    )
    return OrderAnswer(link.request_id, answer, revision=link.revision)
