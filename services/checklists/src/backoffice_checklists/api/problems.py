"""The checklists service's one error map: domain refusals -> RFC 9457 problem types."""

from __future__ import annotations

from backoffice_checklists.domain.errors import ChecklistClosed, InvalidEvidence, InvalidTemplate, ItemNotReady
from backoffice_common.errors import ErrorMap, ProblemType

PROBLEMS: ErrorMap = {
    InvalidTemplate: ProblemType(422, "Unprocessable Content", "invalid-template"),
    InvalidEvidence: ProblemType(422, "Unprocessable Content", "invalid-evidence"),
    ItemNotReady: ProblemType(409, "Conflict", "item-not-ready"),
    ChecklistClosed: ProblemType(409, "Conflict", "checklist-closed"),
}
