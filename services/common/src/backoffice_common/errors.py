"""Application errors without HTTP in them, and the map that turns each class into a problem type.

Domain and use-case code raises these (or its own subclasses); the API layer never catches them.
``create_service_app`` installs the generic map below together with the service's own map, and
``problems.install_error_map`` renders them as RFC 9457 problems. A class that is not in a map is
answered through its nearest mapped base class (the MRO decides).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


class AppError(Exception):
    """A refusal the caller can act on. ``detail`` is for humans; ``extensions`` travel with it."""

    def __init__(self, detail: str, **extensions: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extensions: dict[str, Any] = extensions


class NotFound(AppError):
    """The thing asked for does not exist (or the caller may not know it does)."""


class Forbidden(AppError):
    """The caller is known but may not do this."""


class Conflict(AppError):
    """The thing exists but its current state does not allow the change."""


class PreconditionFailed(AppError):
    """The caller's version (If-Match) is stale."""


class PreconditionRequired(AppError):
    """The change needs the caller's version (If-Match) and none was given."""


class Invalid(AppError):
    """The content is well-formed but not acceptable; ``field`` names the part at fault."""

    def __init__(self, detail: str, *, field: str | None = None, **extensions: Any) -> None:
        if field is not None:
            extensions["field"] = field
        super().__init__(detail, **extensions)
        self.field = field


class TooLarge(AppError):
    """The content is larger than accepted."""


class Unavailable(AppError):
    """A dependency is not available now; ``retry_after`` (seconds) says when to try again."""

    def __init__(self, detail: str, *, retry_after: int | None = None, **extensions: Any) -> None:
        super().__init__(detail, **extensions)
        self.retry_after = retry_after


def retry_after_header(exc: Exception) -> dict[str, str] | None:
    """``Retry-After`` from an exception's ``retry_after`` (for ``ProblemType.headers``)."""
    seconds = getattr(exc, "retry_after", None)
    return {"Retry-After": str(int(seconds))} if seconds is not None else None


@dataclass(frozen=True)
class ProblemType:
    """How one exception class is answered: status, title, type slug and optional response headers."""

    status: int
    title: str
    type: str | None = None
    headers: Callable[[Exception], dict[str, str] | None] | None = None


ErrorMap = Mapping[type[Exception], ProblemType]

GENERIC_ERRORS: ErrorMap = {
    AppError: ProblemType(400, "Bad Request", "bad-request"),
    NotFound: ProblemType(404, "Not Found", "not-found"),
    Forbidden: ProblemType(403, "Forbidden", "forbidden"),
    Conflict: ProblemType(409, "Conflict", "conflict"),
    PreconditionFailed: ProblemType(412, "Precondition Failed", "precondition-failed"),
    PreconditionRequired: ProblemType(428, "Precondition Required", "precondition-required"),
    Invalid: ProblemType(422, "Unprocessable Content", "validation"),
    TooLarge: ProblemType(413, "Content Too Large", "too-large"),
    Unavailable: ProblemType(503, "Service Unavailable", "unavailable", headers=retry_after_header),
}
"""The generic application errors; a service's own map is laid over it (its entries win)."""


def problem_type_of(exc: BaseException, errors: ErrorMap) -> ProblemType | None:
    """The problem type of the most specific class of ``exc`` (along its MRO) that ``errors`` maps."""
    for cls in type(exc).__mro__:
        if issubclass(cls, Exception) and cls in errors:
            return errors[cls]
    return None


__all__ = [
    "GENERIC_ERRORS",
    "AppError",
    "Conflict",
    "ErrorMap",
    "Forbidden",
    "Invalid",
    "NotFound",
    "PreconditionFailed",
    "PreconditionRequired",
    "ProblemType",
    "TooLarge",
    "Unavailable",
    "problem_type_of",
    "retry_after_header",
]
