"""The approver's inbox and task page: approve, reject or ask for changes with a comment."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from backoffice_console import live
from backoffice_console.backend import ApiError
from backoffice_console.budgets import budget_check
from backoffice_console.sessions import Session
from backoffice_console.web import CheckedForm, backend, render, require

router = APIRouter()
Approver = Annotated[Session, Depends(require("approver", "admin"))]
DECISIONS = ("approved", "rejected", "changes_requested")


@router.get("/inbox", include_in_schema=False)
async def inbox(request: Request, session: Approver, cursor: str = "") -> Response:
    """One page of open tasks, most urgent first (approvals orders them by due time and marks the overdue)."""
    params = {"limit": 50, "cursor": cursor or None}
    page = await backend(request).call(session.tokens["access_token"], "GET", "approvals", "/tasks", params=params)
    return render(request, "inbox.html", tasks=page["items"], next_cursor=page["next_cursor"])


@router.get("/approvals/tasks/{task_id}", include_in_schema=False)
async def task_link_from_email(task_id: str, session: Approver) -> Response:
    """The link of the approval email (notifications' APP_BASE_URL is the console): after sign-in."""
    return RedirectResponse(f"/tasks/{task_id}", status_code=303)


@router.get("/tasks/{task_id}", include_in_schema=False)
async def task_page(request: Request, task_id: str, session: Approver) -> Response:
    return await _task(request, session, task_id, None, 200)


async def _task(request: Request, session: Session, task_id: str, problem: ApiError | None, code: int) -> Response:
    task = await backend(request).call(session.tokens["access_token"], "GET", "approvals", f"/tasks/{task_id}")
    snapshot = task.get("request") or {}
    request_id = str(task.get("request_id") or "")
    check = await budget_check(request, session, request_id)
    diff = await _revision_diff(request, session, request_id, int(snapshot.get("revision") or 1))
    version = live.version_of(task.get("status"), task.get("decision"), task.get("assignee"), snapshot, check)
    if problem is None:
        same = live.unchanged(request, version)
        if same is not None:
            return same
    page = render(
        request,
        "task.html",
        code,
        task=task,
        r=snapshot,
        check=check,
        diff=diff,
        problem=problem,
        decisions=DECISIONS,
        version=version,
        poll_seconds=live.POLL_SECONDS,
    )
    return live.tagged(page, version)


async def _revision_diff(request: Request, session: Session, request_id: str, revision: int) -> dict[str, Any] | None:
    """For a revision: what changed since the revision the approvers saw before (the requests service's diff)."""
    if revision <= 1 or not request_id:
        return None
    try:
        found = await backend(request).call(
            session.tokens["access_token"],
            "GET",
            "requests",
            f"/requests/{request_id}/revisions/diff",
            params={"from": revision - 1, "to": revision},
        )
    except ApiError as exc:
        if exc.status in (403, 404):
            return None
        raise
    return found if isinstance(found, dict) else None


@router.post("/tasks/{task_id}/decision", include_in_schema=False)
async def decide(request: Request, task_id: str, session: Approver, form: CheckedForm) -> Response:
    decision = str(form.get("decision") or "")
    comment = str(form.get("comment") or "").strip()
    try:
        await backend(request).call(
            session.tokens["access_token"],
            "POST",
            "approvals",
            f"/tasks/{task_id}/decision",
            json={"decision": decision, "comment": comment or None},
        )
    except ApiError as exc:
        if exc.status >= 500 or exc.status in (401, 403):
            raise
        return await _task(request, session, task_id, exc, 422)
    return RedirectResponse("/inbox", status_code=303)
