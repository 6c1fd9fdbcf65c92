"""Typed settings shared by every service; each service subclasses with its own env prefix."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_JWT_SECRET = "development-only-jwt-secret-never-in-production"  # noqa: S105 - refused outside development
PLACEHOLDER_SECRETS = frozenset({"", "changeme", "change-me", "dev-secret", "secret", DEV_JWT_SECRET})


class ServiceSettings(BaseSettings):
    """Settings every service has. Subclasses set ``model_config`` with their env prefix."""

    model_config = SettingsConfigDict(env_prefix="BACKOFFICE_", extra="ignore")

    service_name: str = "service"
    environment: Literal["development", "test", "production"] = "development"
    log_level: str = "INFO"
    log_json: bool = True

    database_url: str = "postgresql+asyncpg://backoffice@127.0.0.1:5432/backoffice"
    database_pool_size: int = Field(default=10, ge=1, le=200)

    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    kafka_client_id: str | None = None
    kafka_topic_partitions: int = Field(default=3, ge=1, le=1000)
    kafka_replication_factor: int | None = Field(default=None, ge=1, le=10)
    """None: 3 on a cluster of three brokers or more, else the number of brokers (``kafka.replication_for``)."""
    kafka_min_insync_replicas: int | None = Field(default=None, ge=1, le=10)
    """None: 2 when the replication factor is 3 or more, else 1."""
    kafka_consumer_group: str | None = None
    kafka_topic_prefix: str = Field(default="", max_length=100, pattern=r"^[A-Za-z0-9._-]*$")
    kafka_request_timeout_ms: int = Field(default=15000, ge=1000)

    outbox_poll_interval_seconds: float = Field(default=5.0, gt=0)
    outbox_batch_size: int = Field(default=500, ge=1, le=10000)
    outbox_retention_hours: float = Field(default=72.0, gt=0)
    outbox_stall_seconds: float = Field(default=60.0, gt=0)

    consumer_max_attempts: int = Field(default=5, ge=1, le=100)
    consumer_retry_initial_seconds: float = Field(default=0.2, gt=0)
    consumer_retry_max_seconds: float = Field(default=5.0, gt=0)
    consumer_stall_seconds: float = Field(default=30.0, gt=0)

    jwt_secret: str = DEV_JWT_SECRET
    jwt_algorithm: Literal["HS256", "RS256"] = "HS256"
    jwt_jwks_url: str | None = None
    jwt_audience: str = "backoffice"
    jwt_issuer: str | None = None
    jwt_leeway_seconds: int = Field(default=30, ge=0, le=600)

    public_base_url: str = "http://127.0.0.1:8000"

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> ServiceSettings:
        if (
            self.environment == "production"
            and self.jwt_algorithm == "HS256"
            and (self.jwt_secret in PLACEHOLDER_SECRETS or len(self.jwt_secret) < 32)
        ):
            raise ValueError(
                "jwt_secret is a placeholder or shorter than 32 characters; "
                "set a real secret (or use RS256 with jwt_jwks_url) outside development"
            )
        if self.jwt_algorithm == "RS256" and not self.jwt_jwks_url:
            raise ValueError("jwt_algorithm RS256 needs jwt_jwks_url")
        return self

    @property
    def consumer_group(self) -> str:
        return self.kafka_consumer_group or f"{self.kafka_topic_prefix}backoffice-{self.service_name}"

    def topic(self, name: str) -> str:
        """The physical topic of a logical one (a prefix isolates test runs and environments)."""
        return f"{self.kafka_topic_prefix}{name}"
