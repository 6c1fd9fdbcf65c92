"""Settings of the requests service, read from ``REQUESTS_*`` environment variables."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from backoffice_common.audit_archive_service import AuditArchiveSettings
from backoffice_common.settings import ServiceSettings


class Settings(ServiceSettings, AuditArchiveSettings):
    model_config = SettingsConfigDict(env_prefix="REQUESTS_", extra="ignore")

    secret_fields = ("object_store_secret_key",)

    service_name: str = "requests"
    max_body_bytes: int = Field(default=2_000_000, ge=1024, le=50_000_000)
    idempotency_retention_hours: float = Field(default=72.0, gt=0)
    timeline_archive_after_days: float = Field(default=365.0, ge=0)
    """``archive-timeline`` moves the timeline of a request finished and unchanged this long to the
    object store (the ``OBJECT_STORE_*`` settings, which ``GET /requests/{id}/timeline`` reads it back from)."""
    require_known_cost_centre: bool = True
    """Refuse (422, field ``cost_center``) a cost centre that ``backoffice.cost_centres`` does not
    name as active, on create, edit, revise and submit."""
    requester_may_close: bool = True
    """The requester may confirm receipt of their own order and close it (false: procurement or admin does)."""
    buyer_signer_may_close: bool = False
    """Whoever signed the order's contract for the buyer may confirm its receipt and close it."""
