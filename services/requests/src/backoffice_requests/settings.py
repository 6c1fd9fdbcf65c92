"""Settings of the requests service, read from ``REQUESTS_*`` environment variables."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from backoffice_common.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="REQUESTS_", extra="ignore")

    service_name: str = "requests"
