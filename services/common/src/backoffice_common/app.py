"""The composition root every service uses: FastAPI app, database, outbox relay, consumer, timers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import structlog
from fastapi import APIRouter, FastAPI
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import Tracer
from sqlalchemy.ext.asyncio import AsyncEngine

from backoffice_common.audit_api import router as audit_router
from backoffice_common.auth import Authenticator
from backoffice_common.consumer import EventConsumer, Handler
from backoffice_common.db import asyncpg_dsn, make_engine, make_session_factory
from backoffice_common.deps import SettingsDep, UowDep, settings_dep, settings_of
from backoffice_common.dlq import DeadLetterDesk
from backoffice_common.dlq_api import router as dead_letter_router
from backoffice_common.docs_ui import install_offline_docs
from backoffice_common.edge import ServiceEdge
from backoffice_common.errors import GENERIC_ERRORS, ErrorMap
from backoffice_common.health import KafkaProbe
from backoffice_common.health import router as health_router
from backoffice_common.kafka import TopicSpec, dlq_topic, ensure_topics, make_producer
from backoffice_common.limits import BodySizeLimit
from backoffice_common.messaging import MessagingTables
from backoffice_common.observability import configure_logging
from backoffice_common.openapi import document_problems
from backoffice_common.outbox import OutboxRelay
from backoffice_common.problems import install_error_map, install_problem_handlers
from backoffice_common.retention import Retention, RetentionJob, messaging_retention
from backoffice_common.retry import Backoff
from backoffice_common.settings import ServiceSettings
from backoffice_common.tracing import instrument, make_tracer_provider, tracer_of, tracing_wanted
from backoffice_common.uow import UnitOfWork

log = structlog.get_logger(__name__)

BackgroundJob = Callable[[FastAPI], Coroutine[Any, Any, None]]


@dataclass
class ServiceSpec:
    """What a service plugs into the shared runtime."""

    name: str
    title: str
    description: str
    version: str
    tables: MessagingTables
    routers: Sequence[APIRouter] = ()
    publishes: Sequence[str] = ()
    consumes: Sequence[str] = ()
    handlers: Mapping[str, Handler] = field(default_factory=dict)
    compacted_topics: Sequence[str] = ()
    background_jobs: Sequence[BackgroundJob] = ()
    on_startup: Sequence[Callable[[FastAPI], Awaitable[None]]] = ()
    problems: ErrorMap = field(default_factory=dict)
    """The service's own error map (exception class -> problem type), laid over ``GENERIC_ERRORS``."""
    body_limits: Mapping[str, int] = field(default_factory=dict)
    """Body-size limits (bytes) for path prefixes that need another than ``settings.max_body_bytes``."""
    uow_class: type[UnitOfWork] = UnitOfWork
    """The service's unit of work: its repositories as attributes, its ``collect_events``."""
    retention: Sequence[Retention] = ()
    """The service's own retention rules, applied with the outbox's and the inbox's (docs/retention.md)."""
    consume_in_batches: bool = False
    """One transaction per partition's polled batch (``EventConsumer(batch_transactions=...)``): for a
    read model whose handlers touch only their own rows and publish nothing, such as insights."""
    fetch_linger_ms: int = 0
    """The consumer's fetch linger by default (``EventConsumer(fetch_linger_ms=...)``,
    ``CONSUMER_FETCH_LINGER_MS`` overrides it): for a consumer whose records nobody on a flow's path waits
    for. 0: every fetch answers at the first record."""


def topic_specs(spec: ServiceSpec, settings: ServiceSettings) -> list[TopicSpec]:
    names: list[str] = []
    for topic in [*spec.publishes, *spec.consumes]:
        for name in (topic, dlq_topic(topic)):
            if name not in names:
                names.append(name)
    for name in spec.compacted_topics:
        if name in names:
            names.remove(name)
    names = [settings.topic(n) for n in names]
    compacted = [settings.topic(n) for n in spec.compacted_topics]
    insync = settings.kafka_min_insync_replicas
    configs = {"min.insync.replicas": str(insync)} if insync is not None else {}
    partitions, replication = settings.kafka_topic_partitions, settings.kafka_replication_factor
    specs = [TopicSpec(n, partitions, replication, configs) for n in names]
    specs += [TopicSpec(n, partitions, replication, {**configs, "cleanup.policy": "compact"}) for n in compacted]
    return specs


async def _provision_topics(spec: ServiceSpec, settings: ServiceSettings, ready: asyncio.Event) -> None:
    backoff = Backoff(0.5, 10.0)
    while True:
        try:
            await ensure_topics(
                settings.kafka_bootstrap_servers,
                topic_specs(spec, settings),
                client_id=f"{spec.name}-admin",
                options=settings.kafka_client_options,
            )
            ready.set()
            return
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            delay = backoff.next()
            log.warning("kafka.provisioning_failed", error=repr(exc), retry_in=delay)
            await asyncio.sleep(delay)


async def _after(event: asyncio.Event, job: Callable[[], Awaitable[None]]) -> None:
    await event.wait()
    await job()


def _producer_factory(spec: ServiceSpec, settings: ServiceSettings, role: str = "producer") -> Callable[[], Any]:
    def factory() -> Any:
        return make_producer(
            settings.kafka_bootstrap_servers,
            client_id=f"{spec.name}-{role}",
            request_timeout_ms=settings.kafka_request_timeout_ms,
            options=settings.kafka_client_options,
        )

    return factory


def _open_database(app: FastAPI, spec: ServiceSpec, settings: ServiceSettings) -> AsyncEngine:
    """The engine, and on ``app.state`` the unit-of-work factory and the readiness probe of Kafka."""
    engine = make_engine(
        settings.database_url,
        pool_size=settings.database_pool_size,
        server_settings=settings.database_server_settings,
    )
    session_factory = make_session_factory(engine)
    app.state.engine = engine
    app.state.session_factory = session_factory
    app.state.kafka_probe = KafkaProbe(
        settings.kafka_bootstrap_servers, client_id=f"{spec.name}-readyz", options=settings.kafka_client_options
    )

    def uow_factory() -> UnitOfWork:
        return spec.uow_class(
            session_factory, tables=spec.tables, service=spec.name, topic_prefix=settings.kafka_topic_prefix
        )

    app.state.uow_factory = uow_factory
    return engine


def _start_messaging(
    app: FastAPI, spec: ServiceSpec, settings: ServiceSettings, tracer: Tracer
) -> list[asyncio.Task[None]]:
    """Topic provisioning, then the outbox relay and (if the service consumes) the consumer."""
    producer_factory = _producer_factory(spec, settings)
    relay_dsn = asyncpg_dsn(settings.database_url, server_settings=settings.database_server_settings)
    relay = OutboxRelay(
        dsn=relay_dsn,
        service=spec.name,
        producer_factory=producer_factory,
        batch_size=settings.outbox_batch_size,
        poll_interval=settings.outbox_poll_interval_seconds,
        tracer=tracer,
    )
    app.state.relay = relay
    app.state.retention = RetentionJob(
        dsn=relay_dsn,
        service=spec.name,
        rules=[
            *messaging_retention(outbox_keep=settings.outbox_retention, inbox_keep=settings.inbox_retention),
            *spec.retention,
        ],
        interval=settings.retention_interval_seconds,
        batch_size=settings.retention_batch_size,
    )
    topics_ready = asyncio.Event()
    tasks = [
        asyncio.create_task(_provision_topics(spec, settings, topics_ready), name="provision-topics"),
        asyncio.create_task(_after(topics_ready, relay.run), name="outbox-relay"),
        asyncio.create_task(app.state.retention.run(), name="retention"),
    ]
    app.state.consumer = None
    if spec.consumes:
        consumer = EventConsumer(
            service=spec.name,
            bootstrap_servers=settings.kafka_bootstrap_servers,
            group_id=settings.consumer_group,
            topics=[settings.topic(t) for t in spec.consumes],
            handlers=spec.handlers,
            uow_factory=app.state.uow_factory,
            producer_factory=producer_factory,
            max_attempts=settings.consumer_max_attempts,
            retry_initial=settings.consumer_retry_initial_seconds,
            retry_max=settings.consumer_retry_max_seconds,
            stall_seconds=settings.consumer_stall_seconds,
            client_options=settings.kafka_client_options,
            tracer=tracer,
            batch_transactions=spec.consume_in_batches,
            commit_interval=settings.consumer_commit_interval_seconds,
            fetch_max_wait_ms=settings.consumer_fetch_max_wait_ms,
            fetch_linger_ms=(
                spec.fetch_linger_ms if settings.consumer_fetch_linger_ms is None else settings.consumer_fetch_linger_ms
            ),
        )
        app.state.consumer = consumer
        tasks.append(asyncio.create_task(_after(topics_ready, consumer.run), name="consumer"))
    return tasks


def _install_http(app: FastAPI, spec: ServiceSpec, settings: ServiceSettings) -> None:
    """Docs, the error path, the middleware, the operational routes and the service's routers."""
    # Known before start-up, so routes tested without the lifespan (no database) still have them.
    app.state.settings = settings
    app.state.authenticator = Authenticator(settings)
    install_offline_docs(app)
    document_problems(app)
    install_problem_handlers(app)
    install_error_map(app, {**GENERIC_ERRORS, **spec.problems})
    # Added last runs first: one layer binds the correlation id, counts the request, refuses the
    # operational pages to other networks and adds the security headers to every answer; then
    # oversized bodies are refused before any route, dependency (authentication included) or body
    # parser reads them.
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes, per_path=spec.body_limits)
    app.add_middleware(
        ServiceEdge,
        service=spec.name,
        metrics_allow_from=settings.metrics_allow_from,
        docs_allow_from=settings.docs_allow_from,
    )
    app.include_router(health_router)
    app.state.dead_letters = DeadLetterDesk(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        consumer=spec.name,
        dlq_topics=[settings.topic(dlq_topic(t)) for t in spec.consumes],
        producer_factory=_producer_factory(spec, settings, "redrive"),
        client_options=settings.kafka_client_options,
    )
    app.include_router(dead_letter_router)
    if spec.tables.audit is not None:
        app.state.audit_table = spec.tables.audit
        app.include_router(audit_router)
    for router in spec.routers:
        app.include_router(router)


def create_service_app(
    spec: ServiceSpec, settings: ServiceSettings, *, tracer_provider: TracerProvider | None = None
) -> FastAPI:
    """The service's app. ``tracer_provider`` replaces the OTLP one the settings would configure (tests)."""
    provider = tracer_provider
    if provider is None and tracing_wanted(otel_enabled=settings.otel_enabled):
        provider = make_tracer_provider(spec.name)
    tracer = tracer_of(provider)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(level=settings.log_level, json=settings.log_json)
        engine = _open_database(app, spec, settings)
        tasks = _start_messaging(app, spec, settings, tracer)
        for hook in spec.on_startup:
            await hook(app)
        for job in spec.background_jobs:
            tasks.append(asyncio.create_task(job(app), name=getattr(job, "__name__", "job")))
        log.info("service.started", service=spec.name)
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await app.state.kafka_probe.close()
            await engine.dispose()
            if provider is not None:
                await asyncio.to_thread(provider.force_flush, 5000)
            log.info("service.stopped", service=spec.name)

    app = FastAPI(
        title=spec.title,
        description=spec.description,
        version=spec.version,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    _install_http(app, spec, settings)
    if provider is not None:
        instrument(app, provider)
    return app


__all__ = [
    "BackgroundJob",
    "ServiceSpec",
    "SettingsDep",
    "UowDep",
    "create_service_app",
    "settings_dep",
    "settings_of",
    "topic_specs",
]
