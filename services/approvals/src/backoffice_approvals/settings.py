"""Settings of the approvals service, read from ``APPROVALS_*`` environment variables."""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from backoffice_approvals.domain.people import LANGUAGE_PATTERN
from backoffice_common.audit_archive_service import AuditArchiveSettings
from backoffice_common.settings import ServiceSettings


class Settings(ServiceSettings, AuditArchiveSettings):
    model_config = SettingsConfigDict(env_prefix="APPROVALS_", extra="ignore")

    service_name: str = "approvals"
    secret_fields = ("object_store_secret_key",)

    base_currency: str = Field(default="EUR", pattern=r"^[A-Z]{3}$")
    exchange_rates: dict[str, Decimal] = Field(default_factory=dict)
    """Units of the base currency for one unit of each currency, e.g. ``{"USD": "0.92"}``."""

    default_head_threshold: Decimal = Field(default=Decimal("10000"), ge=0)
    default_due_seconds: int = Field(default=172800, ge=1, le=90 * 86400)
    reminder_share: float = Field(default=0.5, gt=0, lt=1)

    default_language: str = Field(default="en", pattern=LANGUAGE_PATTERN)
    """The language (BCP 47) of a directory entry imported or saved without one."""

    fallback_approver_id: str = Field(default="admin", min_length=1, max_length=200)
    fallback_approver_name: str = "Approvals administrator"
    fallback_approver_email: str = "approvals-admin@example.com"

    timer_poll_seconds: float = Field(default=1.0, gt=0, le=60)
    """How soon the timer job looks again after an error, or at a due timer another instance holds."""
    timer_idle_poll_seconds: float = Field(default=60.0, gt=0, le=3600)
    """The longest the timer job sleeps: it sleeps until the earliest timer falls due and is woken by
    this process's commits that schedule one, so this only bounds how late it sees a timer that
    another instance scheduled (and then failed to fire)."""
    timer_batch_size: int = Field(default=50, ge=1, le=1000)
    timer_max_attempts: int = Field(default=8, ge=1, le=100)
    fired_timer_retention_days: float = Field(default=30.0, gt=0)
    """Timers that fired, or were closed with their task, are deleted after this (docs/retention.md)."""

    budget_check_wait_seconds: float = Field(default=60.0, ge=0, le=86400)
    """How long a submitted revision waits for its ``budget.checked`` before it is routed as
    ``no_budget`` (reason ``not_checked``); 0 routes at once with whatever check is known."""

    @field_validator("exchange_rates")
    @classmethod
    def _rates_are_positive_iso_codes(cls, rates: dict[str, Decimal]) -> dict[str, Decimal]:
        for code, rate in rates.items():
            if len(code) != 3 or not code.isupper() or not code.isalpha():
                raise ValueError(f"exchange_rates: {code!r} is not an ISO 4217 code")
            if rate <= 0:
                raise ValueError(f"exchange_rates: the rate of {code} must be positive")
        return rates
