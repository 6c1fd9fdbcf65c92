"""Composition root of the approvals service."""

from __future__ import annotations

from fastapi import FastAPI

from backoffice_approvals.api import absences, directory, policies, tasks
from backoffice_approvals.api.problems import PROBLEMS
from backoffice_approvals.consumers import build_handlers
from backoffice_approvals.jobs import retention, timer_job
from backoffice_approvals.models import messaging
from backoffice_approvals.service.uow import ApprovalsUnitOfWork
from backoffice_approvals.settings import Settings
from backoffice_common import topics
from backoffice_common.app import ServiceSpec
from backoffice_common.audit_archive_service import create_archiving_app

MAX_IMPORT_BYTES = 5_000_000


def build_spec(settings: Settings | None = None) -> ServiceSpec:
    settings = settings or Settings()
    return ServiceSpec(
        name="approvals",
        title="Back-office approvals service",
        description="Approval policies, approver directory, chains, tasks, delegation and escalation.",
        version="0.1.0",
        tables=messaging,
        routers=[tasks.router, directory.router, policies.router, absences.router],
        publishes=[topics.APPROVALS],
        consumes=[topics.REQUESTS, topics.BUDGETS],
        handlers=build_handlers(settings),
        background_jobs=[timer_job],
        retention=retention(settings),
        problems=PROBLEMS,
        body_limits={
            "/directory/approvers/import": MAX_IMPORT_BYTES,
            "/policies": policies.MAX_POLICY_BYTES,
            "/policies/dry-run": settings.max_body_bytes,
        },
        uow_class=ApprovalsUnitOfWork,
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    return create_archiving_app(build_spec(settings), settings)  # /admin/audit reads the archive back
