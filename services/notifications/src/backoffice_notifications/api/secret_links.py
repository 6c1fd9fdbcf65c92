"""The one-time page where a vendor retrieves a new webhook secret: GET shows a button, POST reveals it once.

GET changes nothing (mail scanners that prefetch links must not use them up). The answers are HTML pages,
refusals included, with ``Cache-Control: no-store`` like every answer of the service, in the vendor's
language like the other vendor link pages (``Accept-Language`` for a link that names no vendor: unknown,
forged or expired).
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from backoffice_common.openapi import problem_responses
from backoffice_notifications.api.deps import SettingsDep, Uow
from backoffice_notifications.api.links import AcceptLanguage, _pages, _refused, _shown
from backoffice_notifications.api.pages import page, page_language, text
from backoffice_notifications.domain.links import LinkError
from backoffice_notifications.service import secrets

router = APIRouter(prefix="/vendor-secrets", tags=["vendor links"])
MAX_FORM = 1024


@router.get("/{token}", response_class=HTMLResponse, responses=_pages(404, 410) | problem_responses(503))
async def show_secret_link(
    token: str, uow: Uow, settings: SettingsDep, accept_language: AcceptLanguage = None
) -> HTMLResponse:
    """The page of an unused retrieval link: a button that reveals the secret (410 once it was retrieved)."""
    lang = page_language(None, accept_language)
    try:
        stored, vendor = await secrets.verify_retrieval(uow, settings=settings, token=token)
        lang = page_language(vendor.language if vendor else None, accept_language)
        secrets.ensure_retrievable(stored, vendor)
    except LinkError as exc:
        return _refused(exc, lang)
    name = vendor.legal_name if vendor else ""
    title = text(lang, "secret_title")
    return _shown(page("secret_form", lang=lang, title=title, vendor_name=name, secret_id=stored.id), lang)


@router.post("/{token}", response_class=HTMLResponse, responses=_pages(404, 410) | problem_responses(413, 503))
async def retrieve_secret(
    token: str, uow: Uow, settings: SettingsDep, accept_language: AcceptLanguage = None
) -> HTMLResponse:
    """Shows the secret, once: the link is used up and the retrieval audited (``vendor.secret_retrieved``)."""
    lang = page_language(None, accept_language)
    try:
        stored, vendor = await secrets.verify_retrieval(uow, settings=settings, token=token, lock=True)
        lang = page_language(vendor.language if vendor else None, accept_language)
        secret = await secrets.reveal(uow, settings=settings, stored=stored, vendor=vendor)
    except LinkError as exc:
        return _refused(exc, lang)
    name = vendor.legal_name if vendor else ""
    body = page(
        "secret", lang=lang, title=text(lang, "secret_title"), vendor_name=name, secret_id=stored.id, secret=secret
    )
    return _shown(body, lang)
