"""Settings of the checklists service, read from ``CHECKLISTS_*`` environment variables."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from backoffice_common.audit_archive_service import AuditArchiveSettings
from backoffice_common.settings import ServiceSettings


class Settings(ServiceSettings, AuditArchiveSettings):
    model_config = SettingsConfigDict(env_prefix="CHECKLISTS_", extra="ignore")

    service_name: str = "checklists"
    secret_fields = ("object_store_secret_key",)
    timers_enabled: bool = True
    """Off only to hold timers in the database (a restart test); every deployment keeps it on."""
    timer_poll_seconds: float = Field(default=5.0, gt=0, le=300)
    """How soon a due timer that another instance holds (SKIP LOCKED) is looked at again, and the pause
    after a failed pass."""
    timer_idle_poll_seconds: float = Field(default=60.0, gt=0, le=3600)
    """The longest the timer job sleeps: it sleeps until the earliest timer falls due and is woken by
    this process's commits that set an earlier one, so this only bounds how late it sees a timer that
    another instance set."""
    timer_batch_size: int = Field(default=50, ge=1, le=1000)
    timer_max_attempts: int = Field(default=8, ge=1, le=100)
    timezone: str = Field(default="Europe/Berlin", max_length=64)
    """Due dates are days; an item is overdue from midnight after its due day in this zone."""

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value
