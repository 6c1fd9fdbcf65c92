"""The budgets service's one error map: domain refusals -> RFC 9457 problem types."""

from __future__ import annotations

from backoffice_budgets.domain.errors import BudgetClosed, InsufficientFunds, InvalidBudget, InvalidRates, PeriodOverlap
from backoffice_common.errors import ErrorMap, ProblemType

PROBLEMS: ErrorMap = {
    InvalidBudget: ProblemType(422, "Unprocessable Content", "invalid-budget"),
    InvalidRates: ProblemType(422, "Unprocessable Content", "invalid-rates"),
    PeriodOverlap: ProblemType(409, "Conflict", "period-overlap"),
    BudgetClosed: ProblemType(409, "Conflict", "period-closed"),
    InsufficientFunds: ProblemType(409, "Conflict", "insufficient-funds"),
}
