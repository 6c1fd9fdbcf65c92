"""``Idempotency-Key`` on POST: the same key and body replay the stored answer; another body gets 422.

The key row is inserted first, in the command's own transaction: a concurrent request with the same
key waits on that insert and then replays the committed answer. The answer is stored just before the
use case commits (``uow.before_commit``), so the change and its answer are one transaction. A command
that fails rolls back, key included, so a corrected retry with the same key is allowed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Header, Request
from fastapi.responses import JSONResponse

from backoffice_common.auth import User
from backoffice_common.errors import AppError
from backoffice_requests.domain.model import PurchaseRequest
from backoffice_requests.service.uow import RequestsUnitOfWork

IdempotencyKey = Annotated[
    str | None,
    Header(alias="Idempotency-Key", min_length=1, max_length=200, pattern=r"^[\x21-\x7e]+$"),
]


class IdempotencyKeyReused(AppError):
    """The key was used before for another request (another method, path or body)."""


@dataclass
class Reply:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)

    def response(self) -> JSONResponse:
        return JSONResponse(self.body, status_code=self.status, headers=self.headers)


def fingerprint(request: Request, payload: Any) -> str:
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{request.method} {request.url.path}\n{canonical}".encode()).hexdigest()


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
        digest = fingerprint(request, payload)
        if not await uow.idempotency.claim(user_id=user.sub, key=key, fingerprint=digest):
            stored = await uow.idempotency.stored(user_id=user.sub, key=key)
            if stored.fingerprint != digest:
                raise IdempotencyKeyReused(
                    "this Idempotency-Key was already used for another request; use a new key for a new request"
                )
            headers = {**stored.headers, "Idempotent-Replayed": "true"}
            return JSONResponse(stored.body, status_code=stored.status_code, headers=headers)
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
