"""Who may see and who may act on a request (roles of ARCHITECTURE.md)."""

from __future__ import annotations

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice_common.auth import User
from backoffice_common.problems import Problem
from backoffice_requests.domain.model import Actor
from backoffice_requests.models import approver_assignment


def not_found(request_id: str) -> Problem:
    # Someone else's request answers exactly like a missing one, so ids cannot be probed.
    return Problem(404, "Not Found", f"no purchase request {request_id} that you can see", type="not-found")


async def can_see(session: AsyncSession, *, user: User, request_id: str, requester_id: str) -> bool:
    if user.sees_everything or requester_id == user.sub:
        return True
    assigned = await session.scalar(
        select(
            exists().where(approver_assignment.c.request_id == request_id, approver_assignment.c.user_id == user.sub)
        )
    )
    return bool(assigned)


def require_owner(user: User, *, requester_id: str, action: str) -> None:
    if requester_id != user.sub:
        raise Problem(403, "Forbidden", f"only the requester may {action} this request", type="forbidden")


def require_owner_or_buyer(user: User, *, requester_id: str, action: str) -> None:
    if requester_id != user.sub and not user.sees_everything:
        raise Problem(
            403, "Forbidden", f"only the requester, procurement or an admin may {action} this request", type="forbidden"
        )


def actor_for(user: User, *, requester_id: str | None = None) -> Actor:
    if requester_id == user.sub or not user.roles:
        role = "requester"
    else:
        role = next(r for r in ("admin", "procurement", "approver", "requester") if r in user.roles)
    return Actor(id=user.sub, name=user.name or user.sub, role=role)
