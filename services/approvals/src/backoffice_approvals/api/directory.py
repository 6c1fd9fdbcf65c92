"""Approver directory admin API: list, upsert one, bulk import as JSON or CSV."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from typing import Any

from fastapi import APIRouter, Request
from pydantic import ValidationError

from backoffice_approvals.api.deps import AdminUser, PathId, pydantic_errors, read_body, validation_problem
from backoffice_approvals.domain.people import Approver, Directory, directory_problems
from backoffice_approvals.repository import approver_values, load_directory, upsert_approvers
from backoffice_approvals.schemas import ApproverCreate, ApproverRead, ApproverUpdate, DirectoryImport, ImportResult
from backoffice_common.app import UowDep
from backoffice_common.problems import Problem

router = APIRouter(prefix="/directory", tags=["directory"])

CSV_LISTS = ("head_of", "groups")


def _domain(a: ApproverCreate) -> Approver:
    return Approver(
        id=a.id,
        name=a.name,
        email=a.email,
        manager_id=a.manager_id,
        department=a.department,
        head_of=frozenset(a.head_of),
        groups=frozenset(a.groups),
        limit_amount=a.limit_amount,
        limit_currency=a.limit_currency,
        active=a.active,
    )


async def _merge_and_save(uow: UowDep, incoming: list[Approver]) -> None:
    current = await load_directory(session=uow.session)
    merged = Directory({**current.approvers, **{a.id: a for a in incoming}})
    problems = directory_problems(merged)
    if problems:
        raise validation_problem(problems, title="The directory would be inconsistent")
    await upsert_approvers(session=uow.session, approvers=incoming)
    await uow.commit()


@router.get("/approvers", response_model=list[ApproverRead])
async def list_approvers(uow: UowDep, _: AdminUser) -> list[dict[str, Any]]:
    directory = await load_directory(session=uow.session)
    return [approver_values(a) for a in sorted(directory.approvers.values(), key=lambda a: a.id)]


@router.get("/approvers/{approver_id}", response_model=ApproverRead)
async def get_approver(approver_id: PathId, uow: UowDep, _: AdminUser) -> dict[str, Any]:
    found = (await load_directory(session=uow.session)).get(approver_id)
    if found is None:
        raise Problem(404, "Not Found", f"no approver {approver_id!r}", type="not-found")
    return approver_values(found)


@router.put("/approvers/{approver_id}", response_model=ApproverRead)
async def put_approver(approver_id: PathId, body: ApproverUpdate, uow: UowDep, _: AdminUser) -> dict[str, Any]:
    try:
        item = ApproverCreate(id=approver_id, **body.model_dump())
    except ValidationError as exc:
        raise validation_problem(pydantic_errors(exc)) from exc
    approver = _domain(item)
    await _merge_and_save(uow, [approver])
    return approver_values(approver)


def _rows_from_csv(text: str) -> list[dict[str, Any]]:
    reader = csv.DictReader(io.StringIO(text))
    rows: list[dict[str, Any]] = []
    for raw in reader:
        row: dict[str, Any] = {k.strip(): (v or "").strip() for k, v in raw.items() if k is not None}
        for key in CSV_LISTS:
            row[key] = [p.strip() for p in row.get(key, "").split(";") if p.strip()]
        for key in ("manager_id", "department", "limit_amount", "limit_currency"):
            if row.get(key) == "":
                row[key] = None
        if "active" in row:
            row["active"] = row["active"].lower() not in ("false", "0", "no")
        rows.append(row)
    return rows


@router.post("/approvers/import", response_model=ImportResult)
async def import_approvers(request: Request, uow: UowDep, _: AdminUser) -> ImportResult:
    """Bulk import: ``application/json`` ``{"approvers": [...]}`` or ``text/csv`` with a header row
    (``head_of`` and ``groups`` separated by ``;``). All or nothing."""
    body = await read_body(request, limit=5_000_000)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Problem(422, "Invalid input", "the body is not UTF-8", type="validation") from exc
    if content_type == "text/csv":
        try:
            payload: Any = {"approvers": _rows_from_csv(text)}
        except csv.Error as exc:
            raise Problem(422, "Invalid input", f"malformed CSV: {exc}", type="validation") from exc
        prefix = "rows"
    elif content_type in ("application/json", ""):
        try:
            payload = json.loads(text)
        except json.JSONDecodeError as exc:
            raise Problem(422, "Invalid input", f"malformed JSON: {exc}", type="validation") from exc
        prefix = ""
    else:
        raise Problem(415, "Unsupported Media Type", "send application/json or text/csv", type="unsupported-media")
    try:
        parsed = DirectoryImport.model_validate(payload)
    except ValidationError as exc:
        errors = pydantic_errors(exc)
        if prefix:
            errors = [(loc.replace("approvers", prefix, 1), msg) for loc, msg in errors]
        raise validation_problem(errors) from exc
    counts = Counter(a.id for a in parsed.approvers)
    duplicates = sorted(i for i, n in counts.items() if n > 1)
    if duplicates:
        raise validation_problem([("approvers", f"ids listed twice: {', '.join(duplicates)}")])
    await _merge_and_save(uow, [_domain(a) for a in parsed.approvers])
    return ImportResult(imported=len(parsed.approvers))
