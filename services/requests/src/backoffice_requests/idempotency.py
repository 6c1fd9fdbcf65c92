"""``Idempotency-Key`` on POST: the same key and body replay the stored answer; another body gets 422.

The key row is inserted first, in the command's own transaction: a concurrent request with the same
key waits on that insert and then replays the committed answer. A command that fails rolls back,
key included, so a corrected retry with the same key is allowed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Header, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from backoffice_common.auth import User
from backoffice_common.problems import Problem
from backoffice_common.uow import UnitOfWork
from backoffice_requests.models import idempotency_record

IdempotencyKey = Annotated[
    str | None,
    Header(alias="Idempotency-Key", min_length=1, max_length=200, pattern=r"^[\x21-\x7e]+$"),
]


@dataclass
class Reply:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


def fingerprint(request: Request, payload: Any) -> str:
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{request.method} {request.url.path}\n{canonical}".encode()).hexdigest()


async def respond(
    *,
    uow: UnitOfWork,
    user: User,
    request: Request,
    key: str | None,
    payload: Any,
    run: Callable[[], Awaitable[Reply]],
) -> JSONResponse:
    """Run the command once per key, commit, and answer; replay the stored answer for a repeated key."""
    if key is None:
        reply = await run()
        await uow.commit()
        return JSONResponse(reply.body, status_code=reply.status, headers=reply.headers)
    digest = fingerprint(request, payload)
    t = idempotency_record
    claimed = await uow.session.scalar(
        pg_insert(t)
        .values(user_id=user.sub, key=key, fingerprint=digest)
        .on_conflict_do_nothing(index_elements=["user_id", "key"])
        .returning(t.c.key)
    )
    if claimed is None:
        stored = (await uow.session.execute(select(t).where(t.c.user_id == user.sub, t.c.key == key))).mappings().one()
        if stored["fingerprint"] != digest:
            raise Problem(
                422,
                "Idempotency-Key reused",
                "this Idempotency-Key was already used for another request; use a new key for a new request",
                type="idempotency-key-reused",
            )
        headers = {**(stored["headers"] or {}), "Idempotent-Replayed": "true"}
        return JSONResponse(stored["body"], status_code=stored["status_code"], headers=headers)
    reply = await run()
    await uow.session.execute(
        update(t)
        .where(t.c.user_id == user.sub, t.c.key == key)
        .values(status_code=reply.status, body=reply.body, headers=reply.headers)
    )
    await uow.commit()
    return JSONResponse(reply.body, status_code=reply.status, headers=reply.headers)
