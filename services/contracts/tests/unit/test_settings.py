"""Settings refuse development material in production."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from backoffice_contracts.settings import Settings

REAL_JWT = "j" * 40


def test_production_refuses_the_development_link_secret() -> None:
    with pytest.raises(ValidationError, match="link_secret"):
        Settings(environment="production", jwt_secret=REAL_JWT, signing_key_path="k.pem", signing_cert_path="c.pem")


def test_production_refuses_to_generate_its_own_certificate() -> None:
    with pytest.raises(ValidationError, match="SIGNING_KEY_PATH"):
        Settings(environment="production", jwt_secret=REAL_JWT, link_secret="l" * 40)


def test_a_key_without_its_certificate_is_refused() -> None:
    with pytest.raises(ValidationError, match="both"):
        Settings(signing_key_path="k.pem")


def test_production_starts_with_real_secrets_and_a_configured_certificate() -> None:
    settings = Settings(
        environment="production",
        jwt_secret=REAL_JWT,
        link_secret="l" * 40,
        signing_key_path="k.pem",
        signing_cert_path="c.pem",
        signing_order="buyer_first",
    )
    assert settings.signing_order == "buyer_first"
