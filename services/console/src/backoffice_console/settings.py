"""The console's settings (env prefix CONSOLE_). Its only database is the optional session store; no Kafka."""

from __future__ import annotations

import base64
import hashlib
from typing import Literal

from cryptography.fernet import Fernet
from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from backoffice_common.settings import CommaList

DEV_CLIENT_SECRET = "development-only-console-client-secret"  # noqa: S105 - refused outside development


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CONSOLE_", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    log_level: str = "INFO"
    public_base_url: str = "http://127.0.0.1:8014"
    """Where browsers reach the console (the OIDC redirect URI is derived from it)."""

    oidc_issuer: str = "http://127.0.0.1:8080/realms/backoffice"
    oidc_discovery_url: str | None = None
    """Where the console itself reads the provider's metadata when that differs from the issuer
    (a container network); default ``<issuer>/.well-known/openid-configuration``."""
    oidc_client_id: str = "backoffice-console"
    oidc_client_secret: str = DEV_CLIENT_SECRET
    oidc_audience: str = "backoffice"
    oidc_scope: str = "openid profile email"

    requests_url: str = "http://127.0.0.1:8001"
    approvals_url: str = "http://127.0.0.1:8002"
    notifications_url: str = "http://127.0.0.1:8003"
    contracts_url: str = "http://127.0.0.1:8004"
    budgets_url: str = "http://127.0.0.1:8005"
    insights_url: str = "http://127.0.0.1:8006"
    checklists_url: str = "http://127.0.0.1:8009"
    api_timeout_seconds: float = Field(default=15.0, gt=0)

    session_idle_seconds: int = Field(default=1800, ge=60)
    session_max_seconds: int = Field(default=36000, ge=60)
    max_sessions: int = Field(default=10000, ge=1)
    database_url: str | None = None
    """The console's own PostgreSQL database for sessions (``postgresql+asyncpg://...``); without it
    sessions are kept in memory (one instance, lost on restart)."""
    session_encryption_key: str | None = None
    """A Fernet key (``Fernet.generate_key()``) encrypting the stored tokens; required with a database
    outside development (development derives one from the client secret)."""
    session_encryption_previous_keys: CommaList = Field(default_factory=list)
    """Fernet keys of a rotation, comma-separated: sessions stored under them are still read (and
    written back under ``session_encryption_key``). Drop them once ``session_max_seconds`` has passed."""
    otel_enabled: bool = False
    """Trace the console's pages and its calls to the services (OpenTelemetry, as the services: also on
    when a standard ``OTEL_EXPORTER_OTLP_*ENDPOINT`` variable is set; docs/deployment.md, Tracing)."""
    cookie_secure: bool = False
    """Set to true behind TLS (production): the session cookie then only travels over HTTPS."""

    @model_validator(mode="after")
    def _refuse_development_secrets(self) -> Settings:
        if self.environment != "development":
            if self.oidc_client_secret == DEV_CLIENT_SECRET or len(self.oidc_client_secret) < 16:
                raise ValueError("oidc_client_secret: set the real client secret outside development")
            if self.database_url and not self.session_encryption_key:
                raise ValueError("session_encryption_key: set a Fernet key to keep sessions in a database")
            if self.environment == "production" and not self.cookie_secure:
                raise ValueError("cookie_secure must be true in production")
        if self.session_encryption_previous_keys and not self.session_encryption_key:
            raise ValueError("session_encryption_previous_keys: a rotation needs session_encryption_key too")
        for key in (self.session_encryption_key, *self.session_encryption_previous_keys):
            if key is not None:
                try:
                    Fernet(key.encode())
                except ValueError:
                    raise ValueError("session encryption keys must be Fernet keys (32 url-safe base64 bytes)") from None
        return self

    def session_key(self) -> str:
        """The Fernet key of stored sessions (in development derived from the client secret if unset)."""
        if self.session_encryption_key:
            return self.session_encryption_key
        digest = hashlib.sha256(("console-sessions:" + self.oidc_client_secret).encode()).digest()
        return base64.urlsafe_b64encode(digest).decode()
