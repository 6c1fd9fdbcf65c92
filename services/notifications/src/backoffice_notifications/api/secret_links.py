"""The one-time page where a vendor retrieves a new webhook secret: GET shows a button, POST reveals it once.

GET changes nothing (mail scanners that prefetch links must not use them up). The answers are HTML pages,
refusals included, with ``Cache-Control: no-store`` like every answer of the service.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from backoffice_common.openapi import problem_responses
from backoffice_notifications.api.deps import SettingsDep, Uow
from backoffice_notifications.api.links import _pages, _refused
from backoffice_notifications.api.pages import page
from backoffice_notifications.domain.links import LinkError
from backoffice_notifications.service import secrets

router = APIRouter(prefix="/vendor-secrets", tags=["vendor links"])
MAX_FORM = 1024
TITLE = "Your webhook signing secret"


async def _vendor_name(uow: Uow, vendor_id: str) -> str:
    vendor = await uow.vendors.get(vendor_id)
    return vendor.legal_name if vendor else ""


@router.get("/{token}", response_class=HTMLResponse, responses=_pages(404, 410) | problem_responses(503))
async def show_secret_link(token: str, uow: Uow, settings: SettingsDep) -> HTMLResponse:
    """The page of an unused retrieval link: a button that reveals the secret (410 once it was retrieved)."""
    try:
        stored = await secrets.open_retrieval(uow, settings=settings, token=token)
    except LinkError as exc:
        return _refused(exc, "en")
    name = await _vendor_name(uow, stored.vendor_id)
    return HTMLResponse(page("secret_form", title=TITLE, vendor_name=name, secret_id=stored.id))


@router.post("/{token}", response_class=HTMLResponse, responses=_pages(404, 410) | problem_responses(413, 503))
async def retrieve_secret(token: str, uow: Uow, settings: SettingsDep) -> HTMLResponse:
    """Shows the secret, once: the link is used up and the retrieval audited (``vendor.secret_retrieved``)."""
    try:
        stored, secret = await secrets.retrieve(uow, settings=settings, token=token)
    except LinkError as exc:
        return _refused(exc, "en")
    name = await _vendor_name(uow, stored.vendor_id)
    return HTMLResponse(page("secret", title=TITLE, vendor_name=name, secret_id=stored.id, secret=secret))
