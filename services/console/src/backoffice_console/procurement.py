"""Procurement: contracts waiting for the buyer's signature (see the document and its hash, then sign)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from backoffice_console.backend import ApiError
from backoffice_console.sessions import Session
from backoffice_console.web import CheckedForm, backend, render, require

router = APIRouter()
Procurement = Annotated[Session, Depends(require("procurement"))]


@router.get("/contracts", include_in_schema=False)
async def waiting_contracts(request: Request, session: Procurement) -> Response:
    token = session.tokens["access_token"]
    api = backend(request)
    page = await api.call(token, "GET", "requests", "/requests", params={"status": "contract_pending", "limit": 50})
    waiting: list[dict[str, Any]] = []
    for item in page["items"]:
        contracts = await api.call(token, "GET", "contracts", "/contracts", params={"request_id": item["id"]})
        for contract in contracts:
            if contract["status"] not in ("executed", "cancelled", "expired", "refused", "superseded"):
                parties = {s["party"] for s in contract.get("signatures", [])}
                if "buyer" not in parties:
                    waiting.append({"request": item, "contract": contract, "parties": sorted(parties)})
    return render(request, "contracts.html", waiting=waiting, problem=None)


@router.get("/contracts/{contract_id}/{kind}.pdf", include_in_schema=False)
async def contract_pdf(request: Request, contract_id: str, kind: str, session: Procurement) -> Response:
    if kind not in ("draft", "executed"):
        return render(request, "error.html", 404, title="Page not found", detail=kind)
    upstream = await backend(request).call(
        session.tokens["access_token"], "GET", "contracts", f"/contracts/{contract_id}/{kind}.pdf", raw=True
    )
    return Response(upstream.content, media_type="application/pdf")


@router.post("/contracts/{contract_id}/sign", include_in_schema=False)
async def sign(request: Request, contract_id: str, session: Procurement, form: CheckedForm) -> Response:
    try:
        await backend(request).call(
            session.tokens["access_token"],
            "POST",
            "contracts",
            f"/contracts/{contract_id}/signatures",
            json={"document_sha256": str(form.get("document_sha256") or "")},
        )
    except ApiError as exc:
        if exc.status >= 500 or exc.status in (401, 403):
            raise
        return render(request, "contracts.html", 422, waiting=[], problem=exc)
    return RedirectResponse("/contracts", status_code=303)
