"""Admin: the approver directory and the approval policies (read-only for now)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from backoffice_console.sessions import Session
from backoffice_console.web import backend, render, require

router = APIRouter()
Admin = Annotated[Session, Depends(require("admin"))]


@router.get("/admin", include_in_schema=False)
async def admin_home(request: Request, session: Admin) -> Response:
    token = session.tokens["access_token"]
    approvers = await backend(request).call(token, "GET", "approvals", "/directory/approvers")
    policies = await backend(request).call(token, "GET", "approvals", "/policies")
    return render(request, "admin.html", approvers=approvers, policies=policies)
