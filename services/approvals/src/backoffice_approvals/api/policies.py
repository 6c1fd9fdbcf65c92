"""Approval policy admin API: load a new version (JSON or YAML), read, dry run."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

import yaml
from fastapi import APIRouter, Path, Request
from pydantic import ValidationError
from sqlalchemy import select

from backoffice_approvals.api.deps import (
    AdminUser,
    SettingsDep,
    pydantic_errors,
    read_body,
    validation_problem,
)
from backoffice_approvals.chains import current_policy, make_plan
from backoffice_approvals.domain.people import Person
from backoffice_approvals.domain.policy import PolicyDocument, reference_problems
from backoffice_approvals.domain.routing import resolve_delegate
from backoffice_approvals.models import policy
from backoffice_approvals.repository import load_absences, load_directory
from backoffice_approvals.schemas import DryRunCreate, DryRunRead, PolicyRead
from backoffice_approvals.settings import Settings
from backoffice_common.app import UowDep
from backoffice_common.problems import Problem

router = APIRouter(prefix="/policies", tags=["policies"])

YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml")


def _parse(body: bytes, content_type: str) -> Any:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Problem(422, "Invalid input", "the body is not UTF-8", type="validation") from exc
    if content_type in YAML_TYPES:
        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise Problem(422, "Invalid input", f"malformed YAML: {exc}", type="validation") from exc
    if content_type in ("application/json", ""):
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise Problem(422, "Invalid input", f"malformed JSON: {exc}", type="validation") from exc
    raise Problem(415, "Unsupported Media Type", "send application/json or application/yaml", type="unsupported-media")


def validate_policy(raw: Any, directory: Any, settings: Settings, *, prefix: str = "") -> PolicyDocument:
    if not isinstance(raw, dict):
        raise validation_problem([(prefix or "body", "a policy must be an object")], title="Invalid policy")
    try:
        document = PolicyDocument.model_validate(raw)
    except ValidationError as exc:
        raise validation_problem(pydantic_errors(exc, prefix=prefix), title="Invalid policy") from exc
    problems = reference_problems(document, directory)
    base = document.base_currency
    if base != settings.base_currency and base not in settings.exchange_rates:
        problems.append(("base_currency", f"no exchange rate is configured for {base} (APPROVALS_EXCHANGE_RATES)"))
    if problems:
        located = [(f"{prefix}.{loc}" if prefix else loc, msg) for loc, msg in problems]
        raise validation_problem(located, title="Invalid policy")
    return document


def _read(version: int, row: Any) -> PolicyRead:
    return PolicyRead(
        version=version, name=row.name, document=row.document, created_by=row.created_by, created_at=row.created_at
    )


@router.post("", status_code=201, response_model=PolicyRead)
async def load_policy(request: Request, uow: UowDep, user: AdminUser, settings: SettingsDep) -> PolicyRead:
    """A new policy version (``application/json`` or ``application/yaml``); chains already running keep theirs."""
    body = await read_body(request, limit=256_000)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    directory = await load_directory(session=uow.session)
    document = validate_policy(_parse(body, content_type), directory, settings)
    stored = document.model_dump(mode="json")
    row = (
        await uow.session.execute(
            policy.insert()
            .values(name=document.name, document=stored, created_by=user.sub)
            .returning(policy.c.version, policy.c.created_at)
        )
    ).one()
    await uow.commit()
    return PolicyRead(
        version=row.version, name=document.name, document=stored, created_by=user.sub, created_at=row.created_at
    )


@router.get("", response_model=list[PolicyRead], summary="Every loaded policy version, newest first")
async def list_policies(uow: UowDep, _: AdminUser) -> list[PolicyRead]:
    rows = (await uow.session.execute(select(policy).order_by(policy.c.version.desc()).limit(500))).all()
    return [_read(row.version, row) for row in rows]


@router.get("/active", response_model=PolicyRead)
async def get_active_policy(uow: UowDep, _: AdminUser, settings: SettingsDep) -> PolicyRead:
    version, document = await current_policy(uow=uow, settings=settings)
    if version == 0:
        return PolicyRead(
            version=0,
            name=document.name,
            document=document.model_dump(mode="json"),
            created_by="system",
            created_at=None,
            builtin=True,
        )
    return await get_policy(version, uow, _)


@router.get("/{version}", response_model=PolicyRead)
async def get_policy(version: Annotated[int, Path(ge=0, le=2_147_483_647)], uow: UowDep, _: AdminUser) -> PolicyRead:
    row = (await uow.session.execute(select(policy).where(policy.c.version == version))).first()
    if row is None:
        raise Problem(404, "Not Found", f"no policy version {version}", type="not-found")
    return _read(version, row)


@router.post("/dry-run", response_model=DryRunRead)
async def dry_run(body: DryRunCreate, uow: UowDep, _: AdminUser, settings: SettingsDep) -> DryRunRead:
    """Who would approve this request, in which order and why; with ``policy`` given, under that draft."""
    directory = await load_directory(session=uow.session)
    version: int | None
    if body.policy is not None:
        version, document = None, validate_policy(body.policy, directory, settings, prefix="policy")
    else:
        version, document = await current_policy(uow=uow, settings=settings)
    snapshot = body.request.model_dump(mode="json")
    plan = make_plan(policy=document, snapshot=snapshot, directory=directory, settings=settings)
    now = datetime.now(UTC)
    absences = await load_absences(session=uow.session, at=now)
    requester = str(snapshot["requester"]["id"])
    steps = []
    for step in plan.steps:
        others = {requester} | {p.id for s in plan.steps if s.index != step.index for p in s.approvers}
        approvers = []
        for person in step.approvers:
            assignee, on_behalf = resolve_delegate(
                person, directory=directory, absences=absences, at=now, excluded=others
            )
            approvers.append(
                {"approver": person.as_dict(), "assignee": assignee.as_dict(), "on_behalf_of": _maybe(on_behalf)}
            )
        steps.append(
            {
                "name": step.name,
                "stage": step.stage,
                "mode": step.mode,
                "required": step.required,
                "approvers": approvers,
                "carried_over": [p.as_dict() for p in step.carried_over],
                "due_seconds": step.due_seconds,
                "reasons": step.reasons,
            }
        )
    return DryRunRead.model_validate(
        {"policy_version": version, "steps": steps, "notes": plan.notes, "blocked": plan.blocked}
    )


def _maybe(person: Person | None) -> dict[str, str] | None:
    return person.as_dict() if person else None
