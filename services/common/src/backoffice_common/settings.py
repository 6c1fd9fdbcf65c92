"""Typed settings shared by every service; each service subclasses with its own env prefix."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from ipaddress import IPv4Network, IPv6Network
from typing import Annotated, Any, ClassVar, Literal

from aiokafka.helpers import create_ssl_context
from pydantic import BeforeValidator, Field, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEV_JWT_SECRET = "development-only-jwt-secret-never-in-production"  # noqa: S105 - refused outside development
PLACEHOLDER_SECRETS = frozenset({"", "changeme", "change-me", "dev-secret", "secret", DEV_JWT_SECRET})
MIN_SECRET_LENGTH = 32


def _comma_separated(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


CommaList = Annotated[list[str], NoDecode, BeforeValidator(_comma_separated)]
"""A list setting written ``a,b,c`` in the environment (for example the previous keys of a rotation)."""


class ServiceSettings(BaseSettings):
    """Settings every service has. Subclasses set ``model_config`` with their env prefix."""

    model_config = SettingsConfigDict(env_prefix="BACKOFFICE_", extra="ignore")

    secret_fields: ClassVar[tuple[str, ...]] = ()
    """A subclass's own secret settings: refused outside development while they hold a placeholder,
    one of ``placeholder_secrets`` or fewer than 32 characters (``None`` means not configured)."""
    placeholder_secrets: ClassVar[frozenset[str]] = frozenset()
    """A subclass's own development defaults, refused outside development like ``PLACEHOLDER_SECRETS``."""

    service_name: str = "service"
    environment: Literal["development", "test", "production"] = "development"
    log_level: str = "INFO"
    log_json: bool = True
    otel_enabled: bool = False
    """Export traces over OTLP/HTTP (``OTEL_EXPORTER_OTLP_*`` variables, default ``http://localhost:4318``).
    Setting ``OTEL_EXPORTER_OTLP_ENDPOINT`` or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` turns it on too."""

    trusted_proxies: list[str] = Field(default_factory=list, max_length=100)
    """Addresses (or CIDR ranges) of the reverse proxies whose ``X-Forwarded-For``/``-Proto`` are believed
    (JSON list, e.g. ``["10.0.0.0/8"]``). Empty: the client address is the connection's peer, whatever a
    caller puts in those headers (signing evidence records it)."""

    database_url: str = "postgresql+asyncpg://backoffice@127.0.0.1:5432/backoffice"
    database_pool_size: int = Field(default=10, ge=1, le=200)
    # Server-side TCP keepalives of every session (PostgreSQL's tcp_keepalives_* and
    # tcp_user_timeout): when a pod's node dies, PostgreSQL drops its session within about
    # idle + interval * count seconds, which releases the outbox relay's advisory lock.
    database_tcp_keepalives_idle_seconds: int = Field(default=10, ge=1, le=7200)
    database_tcp_keepalives_interval_seconds: int = Field(default=5, ge=1, le=600)
    database_tcp_keepalives_count: int = Field(default=3, ge=1, le=100)
    database_tcp_user_timeout_ms: int = Field(default=30000, ge=0, le=3_600_000)

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
    # Encryption and authentication towards the brokers (every producer, consumer and admin
    # client): SASL_SSL with SCRAM-SHA-512 against Strimzi's TLS listener in Kubernetes.
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    kafka_sasl_username: str | None = None
    kafka_sasl_password: str | None = None
    kafka_ssl_cafile: str | None = None
    kafka_ssl_certfile: str | None = None
    kafka_ssl_keyfile: str | None = None

    outbox_poll_interval_seconds: float = Field(default=5.0, gt=0)
    outbox_batch_size: int = Field(default=500, ge=1, le=10000)
    outbox_retention_hours: float = Field(default=72.0, gt=0)
    """Sent outbox rows are kept this long (for inspection), then deleted by the retention job."""
    inbox_retention_days: float = Field(default=30.0, gt=0)
    """Handled event ids are kept this long: a redelivery or a replay of the topic from within this
    window is still recognised and skipped. Must cover the topics' retention (docs/retention.md)."""
    retention_interval_seconds: float = Field(default=600.0, gt=0)
    retention_batch_size: int = Field(default=5000, ge=1, le=100_000)
    outbox_stall_seconds: float = Field(default=60.0, gt=0)

    consumer_max_attempts: int = Field(default=5, ge=1, le=100)
    consumer_retry_initial_seconds: float = Field(default=0.2, gt=0)
    consumer_retry_max_seconds: float = Field(default=5.0, gt=0)
    consumer_stall_seconds: float = Field(default=30.0, gt=0)
    consumer_fetch_max_wait_ms: int = Field(default=20000, ge=100, le=30000)
    """How long the broker may hold an empty fetch (``EventConsumer.FETCH_MAX_WAIT_MS``): an idle
    consumer asks again this often; a partition a rebalance moves to this consumer may wait up to this
    long for its first fetch (docs/performance.md, fifth round)."""
    consumer_fetch_linger_ms: int | None = Field(default=None, ge=0, le=10000)
    """After a fetch that brought records, how long the broker may hold the next one to gather more
    (``EventConsumer(fetch_linger_ms=...)``): fewer fetches and polls for a consumer off the flow's path,
    each record behind the first of a burst handled up to this much later. Unset: the service's own
    default (insights and checklists 1000, the others 0: off)."""
    consumer_commit_interval_seconds: float = Field(default=2.0, ge=0, le=60)
    """Offsets handled are committed at most this long after the first of them (0: after every poll)."""

    jwt_secret: str = DEV_JWT_SECRET
    jwt_algorithm: Literal["HS256", "RS256"] = "HS256"
    """The accepted algorithm; in development HS256 tokens signed with ``jwt_secret`` are accepted
    as well (development tokens beside the identity provider's RS256 ones, see ``auth``)."""
    jwt_jwks_url: str | None = None
    jwt_audience: str = "backoffice"
    jwt_issuer: str | None = None
    jwt_leeway_seconds: int = Field(default=30, ge=0, le=600)

    public_base_url: str = "http://127.0.0.1:8000"

    max_body_bytes: int = Field(default=1024 * 1024, ge=1024, le=50_000_000)
    """Request bodies above this are refused (413) before they are read; ``ServiceSpec.body_limits``
    sets other limits for path prefixes that need them."""

    metrics_allow_from: list[IPv4Network | IPv6Network] | None = None
    """Networks that may read ``/metrics`` (JSON list, e.g. ``["10.0.0.0/8"]``); unset: anyone, ``[]``: nobody."""
    docs_allow_from: list[IPv4Network | IPv6Network] | None = None
    """Networks that may read ``/docs``, ``/redoc`` and ``/openapi.json``; unset: anyone, ``[]``: nobody."""

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> ServiceSettings:
        if self.jwt_algorithm == "RS256" and not self.jwt_jwks_url:
            raise ValueError("jwt_algorithm RS256 needs jwt_jwks_url")
        if self.environment == "production" and self.jwt_algorithm == "RS256" and not self.jwt_issuer:
            raise ValueError("jwt_issuer is required with RS256 in production: other issuers must be refused")
        if self.kafka_security_protocol.startswith("SASL_") and not (
            self.kafka_sasl_mechanism and self.kafka_sasl_username and self.kafka_sasl_password
        ):
            raise ValueError(
                f"kafka_security_protocol {self.kafka_security_protocol} needs kafka_sasl_mechanism, "
                "kafka_sasl_username and kafka_sasl_password"
            )
        if self.environment == "development":
            return self
        weak = [name for name in self._secrets_to_check() if self._is_placeholder(getattr(self, name))]
        if weak:
            hint = " (or use RS256 with jwt_jwks_url)" if "jwt_secret" in weak else ""
            raise ValueError(
                f"{', '.join(weak)}: a placeholder or shorter than {MIN_SECRET_LENGTH} characters; "
                f"set a real secret{hint} outside development (environment is {self.environment!r})"
            )
        return self

    def _secrets_to_check(self) -> Iterator[str]:
        if self.jwt_algorithm == "HS256":
            yield "jwt_secret"
        yield from self.secret_fields

    def _is_placeholder(self, value: object) -> bool:
        if value is None:
            return False
        text = str(value.get_secret_value() if hasattr(value, "get_secret_value") else value)
        return text in PLACEHOLDER_SECRETS or text in self.placeholder_secrets or len(text) < MIN_SECRET_LENGTH

    @property
    def kafka_client_options(self) -> dict[str, Any]:
        """Security keyword arguments for every aiokafka producer, consumer and admin client."""
        options: dict[str, Any] = {"security_protocol": self.kafka_security_protocol}
        if self.kafka_security_protocol in ("SSL", "SASL_SSL"):
            options["ssl_context"] = create_ssl_context(
                cafile=self.kafka_ssl_cafile, certfile=self.kafka_ssl_certfile, keyfile=self.kafka_ssl_keyfile
            )
        if self.kafka_security_protocol.startswith("SASL_"):
            options["sasl_mechanism"] = self.kafka_sasl_mechanism
            options["sasl_plain_username"] = self.kafka_sasl_username
            options["sasl_plain_password"] = self.kafka_sasl_password
        return options

    @property
    def database_server_settings(self) -> dict[str, str]:
        """PostgreSQL session settings every connection sets (asyncpg ``server_settings``)."""
        return {
            "tcp_keepalives_idle": str(self.database_tcp_keepalives_idle_seconds),
            "tcp_keepalives_interval": str(self.database_tcp_keepalives_interval_seconds),
            "tcp_keepalives_count": str(self.database_tcp_keepalives_count),
            "tcp_user_timeout": str(self.database_tcp_user_timeout_ms),
        }

    @property
    def outbox_retention(self) -> timedelta:
        return timedelta(hours=self.outbox_retention_hours)

    @property
    def inbox_retention(self) -> timedelta:
        return timedelta(days=self.inbox_retention_days)

    @property
    def consumer_group(self) -> str:
        return self.kafka_consumer_group or f"{self.kafka_topic_prefix}backoffice-{self.service_name}"

    def topic(self, name: str) -> str:
        """The physical topic of a logical one (a prefix isolates test runs and environments)."""
        return f"{self.kafka_topic_prefix}{name}"
