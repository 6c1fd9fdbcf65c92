"""Settings of the notifications service, read from ``NOTIFICATIONS_*`` environment variables."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from backoffice_common.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="NOTIFICATIONS_", extra="ignore")

    service_name: str = "notifications"
