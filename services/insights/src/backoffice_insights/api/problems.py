"""The insights service's error map (laid over backoffice_common's generic one)."""

from __future__ import annotations

from backoffice_common.errors import ErrorMap, ProblemType
from backoffice_insights.domain.errors import InvalidRates, UnknownRequest

PROBLEMS: ErrorMap = {
    UnknownRequest: ProblemType(404, "Not Found", "unknown-request"),
    InvalidRates: ProblemType(422, "Unprocessable Content", "invalid-rates"),
}
