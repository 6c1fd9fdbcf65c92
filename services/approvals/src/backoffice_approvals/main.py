"""Composition root of the approvals service."""

from __future__ import annotations

from fastapi import FastAPI

from backoffice_approvals.api import absences, directory, policies, tasks
from backoffice_approvals.consumers import build_handlers
from backoffice_approvals.models import messaging
from backoffice_approvals.settings import Settings
from backoffice_approvals.timers import timer_job
from backoffice_common.app import ServiceSpec, create_service_app

TOPIC = "backoffice.approvals"
REQUESTS_TOPIC = "backoffice.requests"


def build_spec(settings: Settings | None = None) -> ServiceSpec:
    return ServiceSpec(
        name="approvals",
        title="Back-office approvals service",
        description="Approval policies, approver directory, chains, tasks, delegation and escalation.",
        version="0.1.0",
        tables=messaging,
        routers=[tasks.router, directory.router, policies.router, absences.router],
        publishes=[TOPIC],
        consumes=[REQUESTS_TOPIC],
        handlers=build_handlers(settings or Settings()),
        background_jobs=[timer_job],
        body_limits={"/directory/approvers/import": 5_000_000},
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    return create_service_app(build_spec(settings), settings)
