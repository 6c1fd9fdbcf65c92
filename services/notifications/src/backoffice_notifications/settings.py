"""Settings of the notifications service, read from ``NOTIFICATIONS_*`` environment variables."""

from __future__ import annotations

from pydantic import Field, model_validator
from pydantic_settings import SettingsConfigDict

from backoffice_common.audit_archive_service import AuditArchiveSettings
from backoffice_common.settings import CommaList, ServiceSettings

# Valid Fernet key, refused outside development: it is in the source code.
DEV_ENCRYPTION_KEY = "ZGV2ZWxvcG1lbnQtb25seS1rZXktMDAwMDAwMDAwMDA="
DEV_LINK_KEY = "development-only-link-key"
LANGUAGE = r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8}){0,4}$"
OPTIONAL_LANGUAGE = r"^([A-Za-z]{2,3}(-[A-Za-z0-9]{1,8}){0,4})?$"


class Settings(ServiceSettings, AuditArchiveSettings):
    model_config = SettingsConfigDict(env_prefix="NOTIFICATIONS_", extra="ignore")

    service_name: str = "notifications"
    secret_fields = ("secret_encryption_key", "link_signing_key", "object_store_secret_key")
    placeholder_secrets = frozenset({DEV_ENCRYPTION_KEY, DEV_LINK_KEY})

    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=1025, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    smtp_timeout_seconds: float = Field(default=15.0, gt=0)
    smtp_pipelining: bool = True
    """MAIL, RCPT and DATA in one write where the server advertises PIPELINING (RFC 2920); false: one
    command a round trip, as aiosmtplib sends them, whatever the server advertises."""
    mail_from: str = Field(default="Procurement <procurement@backoffice.example>", max_length=320)
    buyer_signatory_email: str = Field(default="procurement-signatory@backoffice.example", max_length=320)
    default_language: str = Field(default="en", pattern=LANGUAGE)
    """The language (BCP 47) of the emails to a person the approver directory does not list (no language on
    the event that names them), and of the two mailboxes below unless they name their own."""
    buyer_signatory_language: str = Field(default="", pattern=OPTIONAL_LANGUAGE)
    """The language (BCP 47) of the buyer signatory's emails (empty: ``default_language``); procurement's are
    in ``procurement_language`` (empty: ``default_language``)."""
    procurement_language: str = Field(default="", pattern=OPTIONAL_LANGUAGE)
    procurement_email: str = Field(default="procurement@backoffice.example", max_length=320)
    """Who hears of a blocked approval chain and of a delivery that failed for good."""
    app_base_url: str = "http://127.0.0.1:3000"
    checklist_group_emails: dict[str, str] = Field(
        default_factory=lambda: {
            group: f"{group}@backoffice.example" for group in ("hr", "it", "facilities", "security")
        }
    )
    """The mailbox of each checklist group (JSON object): where items assigned or escalated to a group are
    emailed. A group without one gets no email (its items still show in "my items")."""

    secret_encryption_key: str = DEV_ENCRYPTION_KEY
    secret_encryption_previous_keys: CommaList = Field(default_factory=list)
    """Earlier Fernet keys, still used to decrypt stored secrets until ``reencrypt-secrets`` has run."""
    link_signing_key: str = DEV_LINK_KEY
    link_signing_previous_keys: CommaList = Field(default_factory=list)
    """Earlier link keys, still accepted for links already sent; new links are signed with ``link_signing_key``."""
    link_ttl_hours: float = Field(default=14 * 24, gt=0)
    secret_rotation_overlap_seconds: float = Field(default=24 * 3600, ge=0)
    secret_retrieval_ttl_minutes: float = Field(default=60, gt=0, le=7 * 24 * 60)
    """How long the one-time link that hands a new webhook secret to the vendor's first contact stays valid."""
    webhook_tolerance_seconds: int = Field(default=300, ge=1, le=3600)
    webhook_timeout_seconds: float = Field(default=15.0, gt=0)
    webhook_allow_private_targets: bool = False

    delivery_max_attempts: int = Field(default=8, ge=1, le=100)
    delivery_backoff_initial_seconds: float = Field(default=30.0, gt=0)
    delivery_backoff_max_seconds: float = Field(default=3600.0, gt=0)
    delivery_poll_interval_seconds: float = Field(default=1.0, gt=0)
    delivery_idle_poll_seconds: float = Field(default=30.0, gt=0)
    """The longest a worker with nothing due waits before it looks again (a commit that records a
    delivery wakes it at once; a retry falling due earlier shortens the wait)."""
    delivery_batch_size: int = Field(default=20, ge=1, le=500)
    delivery_workers: int = Field(default=2, ge=1, le=32)
    delivery_body_retention_days: float = Field(default=30.0, gt=0)
    """The mail bodies and webhook payloads of sent and withdrawn deliveries are dropped after this;
    the delivery row (who, what template, when, status) stays (docs/retention.md)."""
    idempotency_retention_hours: float = Field(default=72.0, gt=0)
    """How long the answer to an ``Idempotency-Key`` (a secret rotation) is kept for a repeated request."""

    @model_validator(mode="after")
    def _mailboxes_in_the_default_language(self) -> Settings:
        self.buyer_signatory_language = self.buyer_signatory_language or self.default_language
        self.procurement_language = self.procurement_language or self.default_language
        return self

    @model_validator(mode="after")
    def _refuse_private_targets_in_production(self) -> Settings:
        if self.environment == "production" and self.webhook_allow_private_targets:
            raise ValueError("webhook_allow_private_targets is for development and tests only")
        return self
