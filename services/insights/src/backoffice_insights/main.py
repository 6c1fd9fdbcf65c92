"""Composition root of the insights service: every topic in, reports out, nothing published."""

from __future__ import annotations

from fastapi import FastAPI

from backoffice_common import topics
from backoffice_common.app import ServiceSpec, create_service_app
from backoffice_insights import consumers
from backoffice_insights.api.checklists import router as checklists_router
from backoffice_insights.api.problems import PROBLEMS
from backoffice_insights.api.rates import router as rates_router
from backoffice_insights.api.reports import router as reports_router
from backoffice_insights.jobs import FoldJob, MetricsReading
from backoffice_insights.models import messaging
from backoffice_insights.service.uow import InsightsUnitOfWork
from backoffice_insights.settings import Settings

CONSUMES = [
    topics.REQUESTS,
    topics.APPROVALS,
    topics.NOTIFICATIONS,
    topics.CONTRACTS,
    topics.VENDORS,
    topics.CHECKLISTS,
]


def build_spec(settings: Settings) -> ServiceSpec:
    fold_job = FoldJob(
        bands=settings.amount_bands,
        batch_size=settings.fold_batch_size,
        interval=settings.fold_interval_seconds,
        idle_interval=settings.fold_idle_seconds,
    )

    async def expose_fold_job(app: FastAPI) -> None:
        app.state.fold_job = fold_job
        app.state.before_metrics = MetricsReading(app, interval=settings.metrics_refresh_seconds)

    return ServiceSpec(
        name="insights",
        title="Back-office insights service",
        description="A read model of every event: cycle times, bottlenecks, SLA and spend.",
        version="0.1.0",
        tables=messaging,
        routers=[reports_router, rates_router, checklists_router],
        consumes=CONSUMES,
        handlers=consumers.handlers(),
        compacted_topics=[topics.VENDORS],
        background_jobs=[fold_job],
        on_startup=[expose_fold_job],
        problems=PROBLEMS,
        uow_class=InsightsUnitOfWork,
        consume_in_batches=True,  # a replay commits once per polled batch of a partition, not per event
        fetch_linger_ms=1000,  # a read model: a second's events in one fetch and one transaction a partition
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    return create_service_app(build_spec(settings), settings)
