"""Composition root of the requests service."""

from __future__ import annotations

from fastapi import FastAPI

from backoffice_common import topics
from backoffice_common.app import ServiceSpec, create_service_app
from backoffice_requests import consumers, jobs
from backoffice_requests.api.problems import ERRORS
from backoffice_requests.api.requests import router
from backoffice_requests.models import messaging
from backoffice_requests.service.uow import RequestsUnitOfWork
from backoffice_requests.settings import Settings

CONSUMES = [
    topics.APPROVALS,
    topics.NOTIFICATIONS,
    topics.CONTRACTS,
    topics.VENDORS,
    topics.COST_CENTRES,
    topics.CHECKLISTS,
]


def build_spec(settings: Settings | None = None) -> ServiceSpec:
    settings = settings or Settings()
    return ServiceSpec(
        name="requests",
        title="Back-office requests service",
        description="Purchase requests, revisions and the order lifecycle.",
        version="0.1.0",
        tables=messaging,
        routers=[router],
        publishes=[topics.REQUESTS],
        consumes=CONSUMES,
        handlers=consumers.handlers(),
        compacted_topics=[topics.VENDORS, topics.COST_CENTRES],
        retention=jobs.retention(settings),
        problems=ERRORS,
        uow_class=RequestsUnitOfWork,
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    return create_service_app(build_spec(settings), settings)
