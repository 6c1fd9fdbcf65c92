"""Composition root of the checklists service."""

from __future__ import annotations

from fastapi import FastAPI

from backoffice_checklists import consumers
from backoffice_checklists.api import checklists, groups, items, templates
from backoffice_checklists.api.problems import PROBLEMS
from backoffice_checklists.jobs import timer_job
from backoffice_checklists.models import messaging
from backoffice_checklists.service.templates import seed
from backoffice_checklists.service.uow import ChecklistsUnitOfWork
from backoffice_checklists.settings import Settings
from backoffice_common import topics
from backoffice_common.app import ServiceSpec
from backoffice_common.audit_archive_service import create_archiving_app


async def seed_templates(app: FastAPI) -> None:
    """The shipped templates, once: a key that has any version is left as HR made it."""
    async with app.state.uow_factory() as uow:
        await seed(uow=uow)
        await uow.commit()


def build_spec(settings: Settings) -> ServiceSpec:
    return ServiceSpec(
        name="checklists",
        title="Back-office checklists service",
        description="Onboarding and offboarding checklists: versioned templates, one checklist per employee, "
        "items assigned to groups and people, durable due timers.",
        version="0.1.0",
        tables=messaging,
        routers=[checklists.router, items.router, templates.router, groups.router],
        publishes=[topics.CHECKLISTS],
        consumes=[topics.HR, topics.REQUESTS],
        handlers=consumers.handlers(zone=settings.timezone),
        background_jobs=[timer_job],
        on_startup=[seed_templates],
        problems=PROBLEMS,
        uow_class=ChecklistsUnitOfWork,
        fetch_linger_ms=1000,  # nobody waits on its reads within a second; most request events are not its
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    return create_archiving_app(build_spec(settings), settings)  # /admin/audit reads the archive back
