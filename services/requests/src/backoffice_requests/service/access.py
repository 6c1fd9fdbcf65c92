"""Who may see and who may act on a request (roles of ARCHITECTURE.md)."""

from __future__ import annotations

from backoffice_common.auth import User
from backoffice_common.errors import Forbidden, NotFound
from backoffice_requests.domain.errors import InvalidRequest
from backoffice_requests.domain.model import Actor
from backoffice_requests.repository.facts import ApproverRepository


def not_found(request_id: str) -> NotFound:
    # Someone else's request answers exactly like a missing one, so ids cannot be probed.
    return NotFound(f"no purchase request {request_id} that you can see")


async def can_see(approvers: ApproverRepository, *, user: User, request_id: str, requester_id: str) -> bool:
    if user.sees_everything or requester_id == user.sub:
        return True
    return await approvers.is_assigned(request_id=request_id, user_id=user.sub)


def require_owner(user: User, *, requester_id: str, action: str) -> None:
    if requester_id != user.sub:
        raise Forbidden(f"only the requester may {action} this request")


def require_owner_or_buyer(user: User, *, requester_id: str, action: str) -> None:
    if requester_id != user.sub and not user.sees_everything:
        raise Forbidden(f"only the requester, procurement or an admin may {action} this request")


def actor_for(user: User, *, requester_id: str | None = None) -> Actor:
    if requester_id == user.sub or not user.roles:
        role = "requester"
    else:
        role = next(r for r in ("admin", "procurement", "approver", "requester") if r in user.roles)
    return Actor(id=user.sub, name=user.name or user.sub, role=role)


def require_own_department(user: User, department: str) -> None:
    """A requester raises requests for the department their token names (it picks the department head who
    approves); a token without a department claim leaves the choice to the approvals service's directory."""
    if user.department and department != user.department:
        raise InvalidRequest(
            f"department: you may raise requests only for your own department ({user.department})",
            field="department",
        )
