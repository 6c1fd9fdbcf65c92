"""The approvals service's one error map: its exceptions -> RFC 9457 problem types.

Laid over ``backoffice_common.errors.GENERIC_ERRORS`` by ``create_service_app`` (``NotFound``,
``Forbidden``... answer as the generic map says). The most specific mapped class of an exception answers.
"""

from __future__ import annotations

from backoffice_approvals.api.bodies import UnsupportedMediaType
from backoffice_approvals.domain.errors import (
    ChainError,
    DecisionConflict,
    DecisionForbidden,
    InconsistentDirectory,
    InvalidDecision,
    InvalidInput,
    InvalidPolicy,
    TaskNotFound,
)
from backoffice_approvals.service.task_lists import BadCursor
from backoffice_common.errors import ErrorMap, ProblemType

DECISION_REFUSED = "decision-refused"

PROBLEMS: ErrorMap = {
    ChainError: ProblemType(422, "Invalid decision", DECISION_REFUSED),
    InvalidDecision: ProblemType(422, "Invalid decision", DECISION_REFUSED),
    DecisionConflict: ProblemType(409, "Conflict", DECISION_REFUSED),
    DecisionForbidden: ProblemType(403, "Forbidden", DECISION_REFUSED),
    TaskNotFound: ProblemType(404, "Not Found", DECISION_REFUSED),
    BadCursor: ProblemType(400, "Bad Request", "bad-cursor"),
    InvalidInput: ProblemType(422, "Invalid input", "validation"),
    InvalidPolicy: ProblemType(422, "Invalid policy", "validation"),
    InconsistentDirectory: ProblemType(422, "The directory would be inconsistent", "validation"),
    UnsupportedMediaType: ProblemType(415, "Unsupported Media Type", "unsupported-media"),
}
