"""Composition root of the notifications service."""

from __future__ import annotations

from fastapi import FastAPI

from backoffice_common import topics
from backoffice_common.app import ServiceSpec
from backoffice_common.audit_archive_service import create_archiving_app
from backoffice_notifications import consumers
from backoffice_notifications.api import ROUTERS, links, secret_links, webhook
from backoffice_notifications.api.problems import PROBLEMS
from backoffice_notifications.jobs import JOBS, retention
from backoffice_notifications.models import messaging
from backoffice_notifications.service.uow import NotificationsUnitOfWork
from backoffice_notifications.settings import Settings


def build_spec(settings: Settings | None = None) -> ServiceSpec:
    settings = settings or Settings()
    return ServiceSpec(
        name="notifications",
        title="Back-office notifications service",
        description="Vendor directory, email and webhook deliveries, the vendor webhook and signed links.",
        version="0.1.0",
        tables=messaging,
        routers=ROUTERS,
        publishes=[topics.NOTIFICATIONS, topics.VENDORS],
        consumes=[topics.REQUESTS, topics.APPROVALS, topics.CONTRACTS, topics.BUDGETS, topics.CHECKLISTS],
        handlers=consumers.handlers(settings or Settings()),
        compacted_topics=[topics.VENDORS],
        background_jobs=JOBS,
        retention=retention(settings),
        problems=PROBLEMS,
        body_limits={
            "/vendor-webhook": webhook.MAX_BODY,
            "/vendor-links": links.MAX_FORM,
            "/vendor-secrets": secret_links.MAX_FORM,
        },
        uow_class=NotificationsUnitOfWork,
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    return create_archiving_app(build_spec(settings), settings)  # /admin/audit reads the archive back
