"""What the domain refuses, each kind mapped to one HTTP status by the entrypoints."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every refusal by the domain."""


class InvalidRequest(DomainError):
    """The content is not acceptable (money, currency, dates, quantities, vendor)."""

    def __init__(self, detail: str, *, field: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field


class IllegalTransition(DomainError):
    """The action is not allowed in the request's current state."""

    def __init__(self, *, current_state: str, action: str, allowed_actions: list[str]) -> None:
        super().__init__(f"cannot {action.replace('_', ' ')} a request that is {current_state.replace('_', ' ')}")
        self.current_state = current_state
        self.action = action
        self.allowed_actions = allowed_actions


class EventMismatch(DomainError):
    """An incoming event names another revision or vendor than the request's current one."""
