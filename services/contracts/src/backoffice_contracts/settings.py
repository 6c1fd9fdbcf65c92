"""Settings of the contracts service, read from ``CONTRACTS_*`` environment variables."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from backoffice_common.audit_archive_service import AuditArchiveSettings
from backoffice_common.settings import CommaList, ServiceSettings

DEV_LINK_SECRET = "development-only-link-secret"  # noqa: S105 - refused outside development


class Settings(ServiceSettings, AuditArchiveSettings):
    model_config = SettingsConfigDict(env_prefix="CONTRACTS_", extra="ignore")

    service_name: str = "contracts"
    secret_fields = ("link_secret", "object_store_secret_key")
    placeholder_secrets = frozenset({DEV_LINK_SECRET})

    buyer_legal_name: str = Field(default="ACME Back Office GmbH", min_length=1, max_length=300)
    buyer_address: str = Field(default="Musterstraße 1, 10115 Berlin, Germany", max_length=1000)
    buyer_signers: list[str] = Field(default_factory=list, description="user ids allowed to sign besides procurement")
    signing_order: Literal["vendor_first", "buyer_first", "any"] = "vendor_first"
    signature_ttl_hours: float = Field(default=14 * 24, gt=0)
    expiry_poll_seconds: float = Field(default=30.0, gt=0)
    """A due contract the job did not expire (another replica holds it) is looked at again after this; also
    the first wait after a failure."""
    expiry_idle_poll_seconds: float = Field(default=60.0, gt=0)
    """The longest the idle expiry job sleeps: it sleeps until the earliest open contract expires and is rung
    by this process's commits that write one, so this bounds how late it sees one another replica wrote."""

    link_secret: str = DEV_LINK_SECRET
    link_previous_secrets: CommaList = Field(default_factory=list)
    """Earlier link secrets, still accepted for links already sent (rotation); new links use ``link_secret``."""
    document_link_ttl_hours: float = Field(default=14 * 24, gt=0)

    pki_dir: Path = Path(".contracts-pki")
    signing_key_path: Path | None = None
    signing_cert_path: Path | None = None
    signing_chain_path: Path | None = None
    trust_roots_path: Path | None = None
    signing_key_passphrase: str | None = None
    # The sealing key in an HSM (or a cloud HSM / KMS with a PKCS#11 library) instead of a file:
    # the private key never enters the process; the certificate comes from SIGNING_CERT_PATH or the token.
    signing_pkcs11_module: Path | None = None
    signing_pkcs11_token_label: str | None = None
    signing_pkcs11_key_label: str = "backoffice-seal"
    signing_pkcs11_cert_label: str | None = None
    signing_pkcs11_pin: SecretStr | None = None
    signing_pkcs11_raw_mechanism: bool | None = None
    """Sign EC keys with raw CKM_ECDSA over a digest made here; ``None``: when the token lacks ECDSA-SHA256."""

    max_upload_bytes: int = Field(default=20 * 1024 * 1024, ge=1024)

    # Admin templates are compiled in child processes (documents/sandbox.py) under these limits.
    render_workers: int = Field(default=2, ge=1, le=32)
    render_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    render_cpu_seconds: int = Field(default=5, ge=1, le=300)
    render_memory_mb: int = Field(default=1024, ge=256, le=65536)

    @model_validator(mode="after")
    def _refuse_development_material_in_production(self) -> Settings:
        if self.signing_pkcs11_module is not None:
            if self.signing_key_path is not None:
                raise ValueError("set CONTRACTS_SIGNING_PKCS11_MODULE or CONTRACTS_SIGNING_KEY_PATH, not both")
            if not self.signing_pkcs11_token_label or self.signing_pkcs11_pin is None:
                raise ValueError(
                    "CONTRACTS_SIGNING_PKCS11_MODULE needs CONTRACTS_SIGNING_PKCS11_TOKEN_LABEL and "
                    "CONTRACTS_SIGNING_PKCS11_PIN"
                )
            if self.signing_cert_path is None and not self.signing_pkcs11_cert_label:
                raise ValueError(
                    "the HSM's sealing certificate: set CONTRACTS_SIGNING_CERT_PATH or "
                    "CONTRACTS_SIGNING_PKCS11_CERT_LABEL"
                )
            return self
        if self.environment == "production" and (self.signing_key_path is None or self.signing_cert_path is None):
            raise ValueError(
                "production needs CONTRACTS_SIGNING_KEY_PATH and CONTRACTS_SIGNING_CERT_PATH, or an HSM "
                "(CONTRACTS_SIGNING_PKCS11_MODULE; the development CA is generated only outside production)"
            )
        if (self.signing_key_path is None) != (self.signing_cert_path is None):
            raise ValueError("set both CONTRACTS_SIGNING_KEY_PATH and CONTRACTS_SIGNING_CERT_PATH, or neither")
        return self
