"""Refusals of the budget domain; each maps to a problem in ``api/problems.py``."""

from __future__ import annotations

from backoffice_common.errors import Conflict, Invalid


class InvalidBudget(Invalid):
    """Input that can never be right (a bad period, amount or currency)."""


class InvalidRates(Invalid):
    """An exchange-rate file that is not in the ECB reference-rate CSV format."""


class PeriodOverlap(Conflict):
    """A cost centre already has a budget covering part of the period."""


class BudgetClosed(Conflict):
    """The budget's period is closed: no transfers, no new requests."""


class InsufficientFunds(Conflict):
    """A transfer asks for more than the source budget has available."""
