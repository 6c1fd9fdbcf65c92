from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backoffice_notifications.domain.addresses import UnsafeUrlError, check_addresses, check_url_shape
from backoffice_notifications.domain.links import LinkClaims, LinkError, check_token, make_token
from backoffice_notifications.domain.orders import (
    ACCEPTED,
    AWAITING_VENDOR,
    OrderView,
    ResponseRefused,
    check_vendor_may_answer,
)
from backoffice_notifications.domain.retry import backoff_seconds

KEY = "k" * 40
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def claims(**over: object) -> LinkClaims:
    values: dict[str, object] = {
        "link_id": "11111111-1111-1111-1111-111111111111",
        "purpose": "respond_order",
        "request_id": "r1",
        "vendor_id": "v1",
        "expires_at": NOW + timedelta(days=1),
    }
    return LinkClaims(**(values | over))  # type: ignore[arg-type]


def test_a_link_token_checks_against_its_own_claims() -> None:
    token = make_token(key=KEY, claims=claims())
    check_token(key=KEY, token=token, claims=claims(), now=NOW)


@pytest.mark.parametrize("field", ["purpose", "request_id", "vendor_id"])
def test_a_link_token_is_bound_to_its_purpose_request_and_vendor(field: str) -> None:
    token = make_token(key=KEY, claims=claims())
    other = {"purpose": "sign_contract", "request_id": "r2", "vendor_id": "v2"}[field]
    with pytest.raises(LinkError, match="signature"):
        check_token(key=KEY, token=token, claims=claims(**{field: other}), now=NOW)


def test_a_link_expires() -> None:
    token = make_token(key=KEY, claims=claims())
    with pytest.raises(LinkError, match="expired"):
        check_token(key=KEY, token=token, claims=claims(), now=NOW + timedelta(days=2))


def test_a_link_signed_with_another_key_is_refused() -> None:
    token = make_token(key="x" * 40, claims=claims())
    with pytest.raises(LinkError):
        check_token(key=KEY, token=token, claims=claims(), now=NOW)


@given(attempt=st.integers(min_value=1, max_value=60), seed=st.integers())
def test_backoff_grows_exponentially_with_jitter_and_stays_under_the_cap(attempt: int, seed: int) -> None:
    delay = backoff_seconds(attempt=attempt, initial=1.0, maximum=60.0, rng=random.Random(seed))
    cap = min(60.0, 2.0 ** (attempt - 1))
    assert cap / 2 <= delay <= cap


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "10.1.2.3", "192.168.1.1", "169.254.169.254", "::1", "fe80::1", "::ffff:127.0.0.1", "0.0.0.0"],
)
def test_private_loopback_and_link_local_targets_are_refused(address: str) -> None:
    with pytest.raises(UnsafeUrlError):
        check_addresses([address], allow_private=False)
    check_addresses([address], allow_private=True)


def test_public_targets_are_allowed() -> None:
    check_addresses(["93.184.216.34"], allow_private=False)


def test_webhook_urls_must_be_https_without_credentials_in_production() -> None:
    with pytest.raises(UnsafeUrlError, match="https"):
        check_url_shape("http://vendor.example/hook", allow_http=False)
    with pytest.raises(UnsafeUrlError, match="credentials"):
        check_url_shape("https://u:p@vendor.example/hook", allow_http=False)
    assert check_url_shape("https://vendor.example/hook", allow_http=False) == "vendor.example"


def test_only_the_vendor_the_order_was_sent_to_may_answer_while_it_waits() -> None:
    order = OrderView("r1", 2, "v1", AWAITING_VENDOR)
    assert check_vendor_may_answer(order, vendor_id="v1") == order
    with pytest.raises(ResponseRefused, match="not sent to this vendor"):
        check_vendor_may_answer(order, vendor_id="v2")
    with pytest.raises(ResponseRefused, match="does not wait"):
        check_vendor_may_answer(OrderView("r1", 2, "v1", ACCEPTED), vendor_id="v1")
    with pytest.raises(ResponseRefused, match="revision"):
        check_vendor_may_answer(order, vendor_id="v1", revision=1)
    with pytest.raises(ResponseRefused):
        check_vendor_may_answer(None, vendor_id="v1")


async def test_a_webhook_url_resolving_to_loopback_is_refused_unless_the_development_setting_allows_it() -> None:
    from backoffice_notifications.settings import Settings
    from backoffice_notifications.webhooks.client import check_webhook_url

    strict = Settings(environment="development", webhook_allow_private_targets=False)
    for url in ("https://127.0.0.1/hook", "https://[::1]/hook", "https://169.254.169.254/latest"):
        with pytest.raises(UnsafeUrlError):
            await check_webhook_url(url, settings=strict)
    relaxed = Settings(environment="development", webhook_allow_private_targets=True)
    await check_webhook_url("http://127.0.0.1:8080/hook", settings=relaxed)
    with pytest.raises(ValueError, match="development"):
        Settings(
            environment="production",
            jwt_secret="j" * 40,
            secret_encryption_key="A" * 43 + "=",
            link_signing_key="l" * 40,
            webhook_allow_private_targets=True,
        )
