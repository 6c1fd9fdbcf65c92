"""Composition root of the budgets service."""

from __future__ import annotations

from fastapi import FastAPI

from backoffice_budgets import consumers
from backoffice_budgets.api import budgets, checks, cost_centres, held_back, rates, transfers
from backoffice_budgets.api.problems import PROBLEMS
from backoffice_budgets.models import messaging
from backoffice_budgets.repository.uow import BudgetsUnitOfWork
from backoffice_budgets.settings import Settings
from backoffice_common import topics
from backoffice_common.app import ServiceSpec
from backoffice_common.audit_archive_service import create_archiving_app


def build_spec(settings: Settings) -> ServiceSpec:
    return ServiceSpec(
        name="budgets",
        title="Back-office budgets service",
        description="Cost centres, budgets per fiscal period, and the ledger of reserved, committed and spent money.",
        version="0.1.0",
        tables=messaging,
        routers=[cost_centres.router, budgets.router, transfers.router, rates.router, checks.router, held_back.router],
        publishes=[topics.BUDGETS, topics.COST_CENTRES],
        consumes=[topics.REQUESTS, topics.APPROVALS],
        handlers=consumers.handlers(fx_max_age_days=settings.fx_max_age_days),
        compacted_topics=[topics.COST_CENTRES],
        problems=PROBLEMS,
        body_limits={rates.RATES_PATH: settings.rates_max_body_bytes},
        uow_class=BudgetsUnitOfWork,
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    return create_archiving_app(build_spec(settings), settings)  # /admin/audit reads the archive back
