"""The state machine of the whole order: which action is allowed in which state, and where it leads."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from backoffice_requests.domain.errors import IllegalTransition


class Status(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"
    CHANGES_REQUESTED = "changes_requested"
    VENDOR_NOTIFIED = "vendor_notified"
    VENDOR_ACCEPTED = "vendor_accepted"
    VENDOR_DECLINED = "vendor_declined"
    CONTRACT_PENDING = "contract_pending"
    CONTRACT_EXECUTED = "contract_executed"
    PARTIALLY_RECEIVED = "partially_received"
    RECEIVED = "received"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class Action(StrEnum):
    # commands of users
    EDIT = "edit"
    SUBMIT = "submit"
    CANCEL = "cancel"
    REVISE = "revise"
    REASSIGN_VENDOR = "reassign_vendor"
    RECEIVE = "receive"
    CLOSE = "close"
    CLOSE_SHORT = "close_short"
    # facts reported by other services
    APPROVE = "approve"
    REJECT = "reject"
    REQUEST_CHANGES = "request_changes"
    NOTIFY_VENDOR = "notify_vendor"
    VENDOR_ACCEPT = "vendor_accept"
    VENDOR_DECLINE = "vendor_decline"
    GENERATE_CONTRACT = "generate_contract"
    EXECUTE_CONTRACT = "execute_contract"


USER_ACTIONS = frozenset(
    {
        Action.EDIT,
        Action.SUBMIT,
        Action.CANCEL,
        Action.REVISE,
        Action.REASSIGN_VENDOR,
        Action.RECEIVE,
        Action.CLOSE,
        Action.CLOSE_SHORT,
    }
)

S, A = Status, Action

# Cancellation is possible in every live state before the contract is executed; rejected is final.
CANCELLABLE = frozenset(
    {
        S.DRAFT,
        S.SUBMITTED,
        S.APPROVED,
        S.CHANGES_REQUESTED,
        S.VENDOR_NOTIFIED,
        S.VENDOR_ACCEPTED,
        S.VENDOR_DECLINED,
        S.CONTRACT_PENDING,
    }
)

# What a vendor's blocking withdraws (cancels, with the reason on the timeline): every order of the vendor
# that is on its way and not yet bound by an executed contract. A draft is no order yet (its submission
# is refused while the vendor is blocked); an executed contract is not undone by the platform.
WITHDRAWN_WHEN_VENDOR_BLOCKED = CANCELLABLE - {S.DRAFT}

_BASE: dict[Status, dict[Action, frozenset[Status]]] = {
    S.DRAFT: {A.EDIT: frozenset({S.DRAFT}), A.SUBMIT: frozenset({S.SUBMITTED})},
    S.SUBMITTED: {
        A.APPROVE: frozenset({S.APPROVED}),
        A.REJECT: frozenset({S.REJECTED}),
        A.REQUEST_CHANGES: frozenset({S.CHANGES_REQUESTED}),
    },
    S.CHANGES_REQUESTED: {A.REVISE: frozenset({S.SUBMITTED})},
    S.APPROVED: {A.NOTIFY_VENDOR: frozenset({S.VENDOR_NOTIFIED})},
    S.VENDOR_NOTIFIED: {
        A.VENDOR_ACCEPT: frozenset({S.VENDOR_ACCEPTED}),
        A.VENDOR_DECLINE: frozenset({S.VENDOR_DECLINED}),
    },
    S.VENDOR_DECLINED: {A.REASSIGN_VENDOR: frozenset({S.APPROVED})},
    S.VENDOR_ACCEPTED: {A.GENERATE_CONTRACT: frozenset({S.CONTRACT_PENDING})},
    S.CONTRACT_PENDING: {A.EXECUTE_CONTRACT: frozenset({S.CONTRACT_EXECUTED})},
    S.CONTRACT_EXECUTED: {
        A.RECEIVE: frozenset({S.PARTIALLY_RECEIVED, S.RECEIVED}),
        A.CLOSE_SHORT: frozenset({S.CLOSED}),
    },
    S.PARTIALLY_RECEIVED: {
        A.RECEIVE: frozenset({S.PARTIALLY_RECEIVED, S.RECEIVED}),
        A.CLOSE_SHORT: frozenset({S.CLOSED}),
    },
    S.RECEIVED: {A.CLOSE: frozenset({S.CLOSED})},
    S.REJECTED: {},
    S.CLOSED: {},
    S.CANCELLED: {},
}
for _state in CANCELLABLE:
    _BASE[_state][A.CANCEL] = frozenset({S.CANCELLED})

TRANSITIONS: Mapping[Status, Mapping[Action, frozenset[Status]]] = _BASE
"""For each state, the allowed actions and the states each of them can lead to."""

TERMINAL = frozenset(s for s, actions in TRANSITIONS.items() if not actions)


def targets(status: Status, action: Action) -> frozenset[Status]:
    return TRANSITIONS[status].get(action, frozenset())


# A vendor can answer before the notifications service reported that it reached them (a webhook
# answered at once); the answer implies the notification, so the request walks both edges.
IMPLIED_STEPS: Mapping[Action, Action] = {
    Action.VENDOR_ACCEPT: Action.NOTIFY_VENDOR,
    Action.VENDOR_DECLINE: Action.NOTIFY_VENDOR,
}


def steps(status: Status, action: Action) -> list[Action]:
    """The edges ``action`` takes from ``status``: itself, or an implied step first; IllegalTransition if none."""
    if targets(status, action):
        return [action]
    implied = IMPLIED_STEPS.get(action)
    if implied is not None and len(targets(status, implied)) == 1:
        (between,) = targets(status, implied)
        if targets(between, action):
            return [implied, action]
    require(status, action)
    return []


def allowed_actions(status: Status) -> list[str]:
    """What a user can do in ``status`` (the actions other services report are not listed)."""
    return sorted(a.value for a in TRANSITIONS[status] if a in USER_ACTIONS)


def require(status: Status, action: Action) -> frozenset[Status]:
    """The states ``action`` may lead to from ``status``; IllegalTransition when it is not allowed."""
    allowed = targets(status, action)
    if not allowed:
        raise IllegalTransition(
            current_state=status.value, action=action.value, allowed_actions=allowed_actions(status)
        )
    return allowed


def may_still_apply(status: Status, action: Action) -> bool:
    """Whether ``action`` fits some state the request can still reach from ``status``.

    A fact that may still apply arrived early (another service's topic ran ahead) and is worth
    keeping; one that cannot is late or a duplicate.
    """
    seen = {status}
    frontier = [status]
    while frontier:
        current = frontier.pop()
        for targets_ in TRANSITIONS[current].values():
            for target in targets_ - seen:
                seen.add(target)
                frontier.append(target)
    return any(action in TRANSITIONS[s] or _implied_fits(s, action) for s in seen - {status})


def _implied_fits(status: Status, action: Action) -> bool:
    try:
        return bool(steps(status, action))
    except IllegalTransition:
        return False
