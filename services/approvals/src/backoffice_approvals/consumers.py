"""Entrypoints for ``backoffice.requests`` events: event -> application service."""

from __future__ import annotations

import json
from typing import Any

from backoffice_approvals.chains import start_chain, withdraw_request
from backoffice_approvals.settings import Settings
from backoffice_common.consumer import Handler, PermanentEventError
from backoffice_common.events import CloudEvent
from backoffice_common.uow import UnitOfWork


def _snapshot(event: CloudEvent) -> dict[str, Any]:
    snapshot = event.data.get("request")
    if not isinstance(snapshot, dict):
        raise PermanentEventError("data.request is missing or not an object")
    requester = snapshot.get("requester")
    if not isinstance(requester, dict) or not isinstance(requester.get("id"), str) or not requester["id"]:
        raise PermanentEventError("data.request.requester.id is missing")
    if len(requester["id"]) > 200:
        raise PermanentEventError("data.request.requester.id is longer than 200 characters")
    if not isinstance(snapshot.get("request_id"), str) or not 0 < len(snapshot["request_id"]) <= 200:
        raise PermanentEventError("data.request.request_id is missing or longer than 200 characters")
    if not isinstance(snapshot.get("revision"), int) or not 0 < snapshot["revision"] < 2**31:
        raise PermanentEventError("data.request.revision must be a positive integer")
    if not isinstance(snapshot.get("currency"), str) or not isinstance(snapshot.get("total"), str):
        raise PermanentEventError("data.request.total and currency must be strings")
    if "\\u0000" in json.dumps(snapshot):
        raise PermanentEventError("data.request contains a NUL character, which cannot be stored")
    return snapshot


def _request_ref(event: CloudEvent) -> tuple[str, int]:
    request_id = event.data.get("request_id") or event.subject
    revision = event.data.get("revision")
    if not isinstance(request_id, str) or not 0 < len(request_id) <= 200 or not isinstance(revision, int):
        raise PermanentEventError("data.request_id and data.revision are required")
    return request_id, revision


def build_handlers(settings: Settings) -> dict[str, Handler]:
    async def on_submitted(event: CloudEvent, uow: UnitOfWork) -> None:
        await start_chain(uow=uow, snapshot=_snapshot(event), settings=settings, cause=event)

    async def on_revised(event: CloudEvent, uow: UnitOfWork) -> None:
        request_id, revision = _request_ref(event)
        await withdraw_request(
            uow=uow,
            request_id=request_id,
            up_to_revision=revision - 1,
            reason=f"revised to revision {revision}",
            cause=event,
        )

    async def on_cancelled(event: CloudEvent, uow: UnitOfWork) -> None:
        request_id, _ = _request_ref(event)
        reason = str(event.data.get("reason") or "no reason given")[:500]
        await withdraw_request(
            uow=uow, request_id=request_id, up_to_revision=2**31 - 1, reason=f"request cancelled: {reason}", cause=event
        )

    handlers: dict[str, Handler] = {
        "purchase_request.submitted": on_submitted,
        "purchase_request.revised": on_revised,
        "purchase_request.cancelled": on_cancelled,
    }
    return handlers
