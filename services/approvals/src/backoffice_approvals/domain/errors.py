"""The refusals of the approvals domain and use cases: plain exceptions, mapped to problems in api/problems.py."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from backoffice_common.errors import AppError, Conflict, Forbidden, Invalid, NotFound


class ChainError(AppError):
    """A decision the chain (or the rules around it) refuses; ``kind`` says which way."""

    kind: ClassVar[str] = "invalid"


class DecisionConflict(ChainError, Conflict):
    """The task or the chain is no longer open."""

    kind = "conflict"


class DecisionForbidden(ChainError, Forbidden):
    """The user may not decide this task."""

    kind = "forbidden"


class InvalidDecision(ChainError, Invalid):
    """The decision lacks what it needs (a comment, an admin's reason)."""

    kind = "invalid"


class TaskNotFound(ChainError, NotFound):
    """The task to decide does not exist."""

    kind = "not_found"


class InvalidInput(Invalid):
    """Input that is well-formed but not acceptable."""


class InvalidFields(InvalidInput):
    """Input breaking rules at named places: every ``(location, message)`` pair travels as ``errors``."""

    def __init__(self, problems: Sequence[tuple[str, str]]) -> None:
        listed: list[dict[str, Any]] = [{"location": loc, "message": msg} for loc, msg in problems[:50]]
        summary = "; ".join(f"{e['location']}: {e['message']}" for e in listed[:5])
        super().__init__(summary, errors=listed)
        self.problems = list(problems)

    @classmethod
    def from_pydantic(cls, exc: Any, *, prefix: str = "") -> InvalidFields:
        """The errors of a pydantic ``ValidationError`` located as ``prefix.a[0].b``."""
        return cls(locate(exc, prefix=prefix))


class InvalidPolicy(InvalidFields):
    """A policy document that does not parse or names what the directory does not know."""


class InconsistentDirectory(InvalidFields):
    """The directory after the change would be inconsistent (unknown manager, cycle, two heads)."""


def locate(exc: Any, *, prefix: str = "") -> list[tuple[str, str]]:
    """``(location, message)`` pairs of a pydantic ``ValidationError``."""
    out: list[tuple[str, str]] = []
    for err in exc.errors(include_url=False):
        path = prefix
        for part in err.get("loc", ()):
            if isinstance(part, int):
                path += f"[{part}]"
            else:
                path += ("." if path else "") + str(part)
        out.append((path or "body", str(err.get("msg", ""))))
    return out
