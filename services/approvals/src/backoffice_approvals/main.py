"""Composition root of the approvals service."""

from __future__ import annotations

from fastapi import FastAPI

from backoffice_approvals.models import messaging
from backoffice_approvals.settings import Settings
from backoffice_common.app import ServiceSpec, create_service_app

TOPIC = "backoffice.approvals"


def build_spec() -> ServiceSpec:
    return ServiceSpec(
        name="approvals",
        title="Back-office approvals service",
        description="Approval policies, approver directory, chains, tasks, delegation and escalation.",
        version="0.1.0",
        tables=messaging,
        publishes=[TOPIC],
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(build_spec(), settings or Settings())
