"""Refusals of the insights service (plain exceptions; api/problems.py maps them)."""

from __future__ import annotations

from backoffice_common.errors import Invalid, NotFound


class UnknownRequest(NotFound):
    """No event of this request has been seen."""


class InvalidRates(Invalid):
    """An exchange-rate table that cannot be used."""
