"""What the domain refuses. Plain exceptions: ``api/problems.py`` maps each kind to one problem type."""

from __future__ import annotations

from backoffice_common.errors import Conflict, Forbidden, Invalid


class DomainError(Exception):
    """Base of every refusal by the domain."""


class InvalidRequest(Invalid, DomainError):
    """The content is not acceptable (money, currency, dates, quantities, vendor)."""

    def __init__(self, detail: str, *, field: str | None = None) -> None:
        super().__init__(detail)
        # The problem always names the field, null when the refusal is about no single one.
        self.field = field
        self.extensions["field"] = field


class IllegalTransition(Conflict, DomainError):
    """The action is not allowed in the request's current state."""

    def __init__(self, *, current_state: str, action: str, allowed_actions: list[str]) -> None:
        super().__init__(
            f"cannot {action.replace('_', ' ')} a request that is {current_state.replace('_', ' ')}",
            current_state=current_state,
            allowed_actions=allowed_actions,
        )
        self.current_state = current_state
        self.action = action
        self.allowed_actions = allowed_actions


class SegregationOfDuties(Forbidden, DomainError):
    """The caller may act on the request in general but not do this (e.g. close what they signed for)."""


class EventMismatch(DomainError):
    """An incoming event names another revision or vendor than the request's current one."""
