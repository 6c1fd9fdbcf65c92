"""``/healthz`` (the process lives), ``/readyz`` (database, Kafka, outbox backlog, consumer progress), ``/metrics``."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from backoffice_common.outbox import BACKLOG_SQL, Backlog, report_backlog

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="Liveness: the process is running")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


async def _check_database(request: Request) -> dict[str, Any]:
    try:
        async with request.app.state.engine.connect() as conn:
            await asyncio.wait_for(conn.execute(text("SELECT 1")), timeout=3)
        return {"ok": True}
    except Exception as exc:
        return {"ok": False, "error": repr(exc)[:300]}


class KafkaProbe:
    """Answers "is the cluster reachable" with one admin client kept open across ``/readyz`` calls.

    A new client per call costs a connection, a metadata round trip and a close every few seconds
    per instance; this one is rebuilt only after it failed.
    """

    def __init__(self, bootstrap_servers: str, *, client_id: str) -> None:
        self._bootstrap = bootstrap_servers
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
                bootstrap_servers=self._bootstrap, client_id=self._client_id, request_timeout_ms=3000
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
        probe = KafkaProbe(settings.kafka_bootstrap_servers, client_id=f"{settings.service_name}-readyz")
        request.app.state.kafka_probe = probe
    return await probe.check()


async def _check_outbox(request: Request) -> dict[str, Any]:
    """The outbox is healthy while its oldest unsent row is younger than ``outbox_stall_seconds``."""
    settings = request.app.state.settings
    relay = request.app.state.relay
    state: dict[str, Any] = {"leader": relay.is_leader, "last_error": relay.last_error}
    try:
        async with request.app.state.engine.connect() as conn:
            row = (await asyncio.wait_for(conn.execute(text(BACKLOG_SQL)), timeout=3)).one()
    except Exception as exc:
        return {"ok": False, **state, "error": repr(exc)[:300]}
    backlog = Backlog(int(row.unsent), row.oldest_age)
    report_backlog(settings.service_name, backlog)
    age = backlog.oldest_age_seconds
    return {
        "ok": age is None or age <= settings.outbox_stall_seconds,
        **state,
        "unsent": backlog.unsent,
        "oldest_unsent_age_seconds": None if age is None else round(age, 1),
        "threshold_seconds": settings.outbox_stall_seconds,
    }


@router.get("/readyz", summary="Readiness: database and Kafka reachable, outbox and consumer making progress")
async def readyz(request: Request) -> JSONResponse:
    database, kafka = await asyncio.gather(_check_database(request), _check_kafka(request))
    checks: dict[str, Any] = {"database": database, "kafka": kafka}
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
async def metrics_endpoint() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
