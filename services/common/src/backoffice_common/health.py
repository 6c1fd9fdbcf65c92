"""``/healthz`` (the process lives), ``/readyz`` (database, Kafka, consumer progress), ``/metrics``."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

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


async def _check_kafka(request: Request) -> dict[str, Any]:
    settings = request.app.state.settings
    admin = AIOKafkaAdminClient(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        client_id=f"{settings.service_name}-readyz",
        request_timeout_ms=3000,
    )
    try:
        await asyncio.wait_for(admin.start(), timeout=4)
        await asyncio.wait_for(admin.describe_cluster(), timeout=4)
        return {"ok": True}
    except Exception as exc:
        return {"ok": False, "error": repr(exc)[:300]}
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(admin.close(), timeout=3)


@router.get("/readyz", summary="Readiness: database and Kafka reachable, consumer making progress")
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
        }
    relay = getattr(request.app.state, "relay", None)
    if relay is not None:
        checks["outbox_relay"] = {"ok": True, "leader": relay.is_leader, "last_error": relay.last_error}
    ready = all(check["ok"] for check in checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "not ready", "checks": checks}, status_code=200 if ready else 503
    )


@router.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
async def metrics_endpoint() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
