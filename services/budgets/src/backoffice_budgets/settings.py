"""Settings of the budgets service, read from ``BUDGETS_*`` environment variables."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from backoffice_common.audit_archive_service import AuditArchiveSettings
from backoffice_common.settings import ServiceSettings


class Settings(ServiceSettings, AuditArchiveSettings):
    model_config = SettingsConfigDict(env_prefix="BUDGETS_", extra="ignore")

    service_name: str = "budgets"
    secret_fields = ("object_store_secret_key",)
    fx_max_age_days: int = Field(default=7, ge=0, le=366)
    """A rate older than this (ECB publishes on working days) is not used: the check says no_exchange_rate."""
    rates_max_body_bytes: int = Field(default=20_000_000, ge=1024, le=200_000_000)
    """The ECB history file (every day since 1999) is a few MB."""
