"""``/healthz`` (the process lives), ``/readyz`` (database, schema, Kafka, outbox, consumer), ``/metrics``.

``/readyz?probe=db`` is the readiness a load balancer should use: the database reachable and
its schema at the revision this code expects, nothing else. A Kafka outage must not take the
REST API and the vendor webhook out of service, since the outbox holds their events until
Kafka is back; the full ``/readyz`` still reports Kafka, the outbox and the consumer for people
and alerts.

The database checks run on ``read_connection``: one statement each, no transaction (a connection
of SQLAlchemy's began one: BEGIN, the statement, ROLLBACK).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
from functools import cache
from pathlib import Path
from typing import Any, Literal

from aiokafka.admin import AIOKafkaAdminClient
from alembic.script import ScriptDirectory
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from backoffice_common.db import read_connection
from backoffice_common.outbox import BACKLOG_SQL, Backlog, report_backlog

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="Liveness: the process is running")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


async def _check_database(request: Request) -> dict[str, Any]:
    try:
        async with read_connection(request.app.state.engine) as conn:
            await asyncio.wait_for(conn.fetchval("SELECT 1"), timeout=3)
        return {"ok": True}
    except Exception as exc:
        return {"ok": False, "error": repr(exc)[:300]}


@cache
def expected_schema_heads(service_name: str) -> frozenset[str] | None:
    """Alembic heads shipped in ``backoffice_<service>/migrations``; None if there are none."""
    spec = importlib.util.find_spec(f"backoffice_{service_name}")
    if spec is None or not spec.submodule_search_locations:
        return None
    location = Path(next(iter(spec.submodule_search_locations))) / "migrations"
    if not (location / "versions").is_dir():
        return None
    return frozenset(ScriptDirectory(str(location)).get_heads())


async def _check_schema(request: Request) -> dict[str, Any]:
    """The database's Alembic revision is the one this code was released with.

    A new pod stays unready until its release's migration Job has run, so a rolling update
    never sends traffic to code whose tables do not exist yet.
    """
    expected = expected_schema_heads(request.app.state.settings.service_name)
    if expected is None:
        return {"ok": True, "expected": None}
    try:
        async with read_connection(request.app.state.engine) as conn:
            rows = await asyncio.wait_for(conn.fetch("SELECT version_num FROM alembic_version"), timeout=3)
            current = frozenset(row[0] for row in rows)
    except Exception as exc:
        return {"ok": False, "expected": sorted(expected), "error": repr(exc)[:300]}
    return {"ok": current == expected, "expected": sorted(expected), "current": sorted(current)}


class KafkaProbe:
    """Answers "is the cluster reachable" with one admin client kept open across ``/readyz`` calls.

    A new client per call costs a connection, a metadata round trip and a close every few seconds
    per instance; this one is rebuilt only after it failed.
    """

    def __init__(self, bootstrap_servers: str, *, client_id: str, options: dict[str, Any] | None = None) -> None:
        self._bootstrap = bootstrap_servers
        self._options = options or {}
        self._client_id = client_id
        self._admin: AIOKafkaAdminClient | None = None
        self._lock = asyncio.Lock()

    async def check(self) -> dict[str, Any]:
        async with self._lock:
            try:
                await self._describe_cluster()
            except Exception:
                # The kept client may have been talking to a broker that is gone for good; a new one
                # bootstraps from the others. Only a second failure says the cluster is unreachable.
                await self.close()
                try:
                    await self._describe_cluster()
                except Exception as exc:
                    await self.close()
                    return {"ok": False, "error": repr(exc)[:300]}
            return {"ok": True}

    async def _describe_cluster(self) -> None:
        if self._admin is None:
            admin = AIOKafkaAdminClient(
                **self._options, bootstrap_servers=self._bootstrap, client_id=self._client_id, request_timeout_ms=3000
            )
            self._admin = admin
            await asyncio.wait_for(admin.start(), timeout=4)
        await asyncio.wait_for(self._admin.describe_cluster(), timeout=4)

    async def close(self) -> None:
        admin, self._admin = self._admin, None
        if admin is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(admin.close(), timeout=3)


async def _check_kafka(request: Request) -> dict[str, Any]:
    probe: KafkaProbe | None = getattr(request.app.state, "kafka_probe", None)
    if probe is None:
        settings = request.app.state.settings
        probe = KafkaProbe(
            settings.kafka_bootstrap_servers,
            client_id=f"{settings.service_name}-readyz",
            options=settings.kafka_client_options,
        )
        request.app.state.kafka_probe = probe
    return await probe.check()


async def _check_outbox(request: Request) -> dict[str, Any]:
    """The outbox is healthy while its oldest unsent row is younger than ``outbox_stall_seconds``."""
    settings = request.app.state.settings
    relay = request.app.state.relay
    state: dict[str, Any] = {"leader": relay.is_leader, "last_error": relay.last_error}
    try:
        async with read_connection(request.app.state.engine) as conn:
            row = await asyncio.wait_for(conn.fetchrow(BACKLOG_SQL), timeout=3)
        if row is None:  # an aggregate answers one row
            raise LookupError("the outbox backlog statement answered no row")
    except Exception as exc:
        return {"ok": False, **state, "error": repr(exc)[:300]}
    backlog = Backlog(int(row["unsent"]), row["oldest_age"])
    report_backlog(settings.service_name, backlog)
    age = backlog.oldest_age_seconds
    return {
        "ok": age is None or age <= settings.outbox_stall_seconds,
        **state,
        "unsent": backlog.unsent,
        "oldest_unsent_age_seconds": None if age is None else round(age, 1),
        "threshold_seconds": settings.outbox_stall_seconds,
    }


_READINESS = {
    "type": "object",
    "required": ["status", "checks"],
    "properties": {
        "status": {"type": "string", "enum": ["ready", "not ready"]},
        "checks": {"type": "object", "additionalProperties": {"type": "object"}},
    },
}


@router.get(
    "/readyz",
    summary="Readiness: database, schema and Kafka reachable, outbox and consumer making progress",
    responses={
        200: {"description": "Ready", "content": {"application/json": {"schema": _READINESS}}},
        503: {
            "description": "Not ready: the checks say which",
            "content": {"application/json": {"schema": _READINESS}},
        },
    },
)
async def readyz(request: Request, probe: Literal["all", "db"] = "all") -> JSONResponse:
    if probe == "db":
        database, schema = await asyncio.gather(_check_database(request), _check_schema(request))
        db_checks = {"database": database, "schema": schema}
        db_ready = all(check["ok"] for check in db_checks.values())
        return JSONResponse(
            {"status": "ready" if db_ready else "not ready", "checks": db_checks}, status_code=200 if db_ready else 503
        )
    database, schema, kafka = await asyncio.gather(
        _check_database(request), _check_schema(request), _check_kafka(request)
    )
    checks: dict[str, Any] = {"database": database, "schema": schema, "kafka": kafka}
    consumer = getattr(request.app.state, "consumer", None)
    if consumer is not None:
        health = consumer.health()
        checks["consumer"] = {
            "ok": health.running and not health.stalled,
            "running": health.running,
            "stalled": health.stalled,
            "lag": health.lag,
            "seconds_since_progress": round(health.seconds_since_progress, 1),
            "failed_lag_probes": health.failed_probes,
        }
    if getattr(request.app.state, "relay", None) is not None:
        checks["outbox_relay"] = await _check_outbox(request)
    ready = all(check["ok"] for check in checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "not ready", "checks": checks}, status_code=200 if ready else 503
    )


@router.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
async def metrics_endpoint(request: Request) -> Response:
    # a service whose collectors read the database brings them up to date here (``app.state.before_metrics``,
    # an async callable), so nothing polls for a scrape that may never come
    before = getattr(request.app.state, "before_metrics", None)
    if before is not None:
        await before()
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
