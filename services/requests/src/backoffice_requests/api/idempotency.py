"""``Idempotency-Key`` on POST (``backoffice_common.idempotency``): the same key and body replay the stored
answer; another body gets 422.

The key row is inserted first, in the command's own transaction: a concurrent request with the same
key waits on that insert and then replays the committed answer. The answer is stored just before the
use case commits (``uow.before_commit``), so the change and its answer are one transaction. A command
that fails rolls back, key included, so a corrected retry with the same key is allowed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from backoffice_common.auth import User
from backoffice_common.idempotency import IdempotencyKey, IdempotencyKeyReused, Reply
from backoffice_requests.domain.model import PurchaseRequest
from backoffice_requests.service.uow import RequestsUnitOfWork

__all__ = ["IdempotencyKey", "IdempotencyKeyReused", "Reply", "respond"]


async def respond(
    *,
    uow: RequestsUnitOfWork,
    user: User,
    request: Request,
    key: str | None,
    payload: Any,
    command: Callable[[], Awaitable[PurchaseRequest]],
    answer: Callable[[PurchaseRequest], Awaitable[Reply]],
) -> JSONResponse:
    """Run the command once per key and answer with ``answer`` of the changed request, computed in the
    command's transaction; replay the stored answer for a repeated key."""
    if key is not None:
        replay = await uow.idempotency.replay_or_claim(user_id=user.sub, key=key, request=request, payload=payload)
        if replay is not None:
            return replay
    replies: list[Reply] = []

    async def before_commit() -> None:
        reply = await answer(uow.changed_request())
        if key is not None:
            await uow.idempotency.store(
                user_id=user.sub, key=key, status_code=reply.status, body=reply.body, headers=reply.headers
            )
        replies.append(reply)

    uow.before_commit(before_commit)
    await command()
    return replies[0].response()
