"""Settings of the insights service, read from ``INSIGHTS_*`` environment variables."""

from __future__ import annotations

import itertools
from decimal import Decimal

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from backoffice_common.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="INSIGHTS_", extra="ignore")

    service_name: str = "insights"
    reporting_currency: str = Field(default="EUR", pattern=r"^[A-Z]{3}$")
    amount_bands: list[Decimal] = Field(
        default_factory=lambda: [Decimal(1000), Decimal(10000), Decimal(100000)],
        description="ascending upper limits of the amount bands, in the request's own currency",
    )
    open_request_age_hours: float = Field(default=72.0, gt=0, description="default age past which a request is late")
    metrics_refresh_seconds: float = Field(default=15.0, gt=0)
    fold_batch_size: int = Field(default=200, ge=1, le=1000, description="requests refolded per transaction")
    fold_interval_seconds: float = Field(
        default=0.5, gt=0, description="pause of the fold job once the fold queue is drained"
    )
    fold_idle_seconds: float = Field(
        default=30.0,
        gt=0,
        description="longest sleep of the fold job with its queue empty and no event handled meanwhile",
    )

    @field_validator("amount_bands")
    @classmethod
    def _ascending(cls, value: list[Decimal]) -> list[Decimal]:
        if any(b <= a for a, b in itertools.pairwise(value)) or any(v <= 0 for v in value):
            raise ValueError("amount bands must be positive and strictly ascending")
        return value
