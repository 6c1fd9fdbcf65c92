"""Formatting of the contract's data per language, and the download link tokens."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backoffice_contracts.domain import links
from backoffice_contracts.domain.document import (
    InvalidOrderData,
    format_date,
    format_money,
    format_quantity,
    language_for,
)


def test_money_is_formatted_in_english_and_german_conventions() -> None:
    assert format_money("1234567.5", "EUR", language="en") == "1,234,567.50 EUR"
    assert format_money("1234567.5", "EUR", language="de") == "1.234.567,50 EUR"
    assert format_money(Decimal("0.005"), "USD", language="en") == "0.01 USD"


@given(st.decimals(min_value=0, max_value=10**12, places=2, allow_nan=False, allow_infinity=False))
def test_the_german_amount_reads_back_as_the_same_decimal(amount: Decimal) -> None:
    text = format_money(amount, "EUR", language="de").removesuffix(" EUR")
    assert Decimal(text.replace(".", "").replace(",", ".")) == amount


def test_amounts_that_are_not_decimals_are_refused() -> None:
    with pytest.raises(InvalidOrderData):
        format_money("12,00", "EUR", language="en")
    with pytest.raises(InvalidOrderData):
        format_money("Infinity", "EUR", language="en")


def test_quantities_and_dates_follow_the_language() -> None:
    assert format_quantity("2.50", language="de") == "2,5"
    assert format_quantity("3", language="en") == "3"
    assert format_date("2027-01-15", language="de") == "15.01.2027"
    assert format_date(date(2027, 1, 15), language="en") == "2027-01-15"
    assert format_date(None, language="en") == ""


def test_unknown_vendor_languages_fall_back_to_english() -> None:
    assert language_for("de") == "de"
    assert language_for("fr") == "en"
    assert language_for(None) == "en"


NOW = datetime(2026, 11, 27, tzinfo=UTC)


def test_a_link_token_opens_only_its_own_contract_and_scope_until_it_expires() -> None:
    token = links.issue(secret="s" * 32, contract_id="c1", scope="draft", expires_at=NOW + timedelta(hours=1))
    links.check(token, secret="s" * 32, contract_id="c1", scope="draft", now=NOW)
    with pytest.raises(links.InvalidLink):
        links.check(token, secret="s" * 32, contract_id="c2", scope="draft", now=NOW)
    with pytest.raises(links.InvalidLink):
        links.check(token, secret="s" * 32, contract_id="c1", scope="executed", now=NOW)
    with pytest.raises(links.InvalidLink):
        links.check(token, secret="t" * 32, contract_id="c1", scope="draft", now=NOW)
    with pytest.raises(links.InvalidLink, match="expired"):
        links.check(token, secret="s" * 32, contract_id="c1", scope="draft", now=NOW + timedelta(hours=2))


@given(st.text(max_size=300))
def test_any_garbage_token_is_refused_without_crashing(token: str) -> None:
    with pytest.raises(links.InvalidLink):
        links.check(token, secret="s" * 32, contract_id="c1", scope="draft", now=NOW)


def test_after_a_rotation_links_signed_with_a_previous_secret_still_open_until_that_secret_is_dropped() -> None:
    old, new = "o" * 32, "n" * 32
    sent = links.issue(secret=old, contract_id="c1", scope="draft", expires_at=NOW + timedelta(hours=1))
    links.check(sent, secret=new, previous=[old], contract_id="c1", scope="draft", now=NOW)
    fresh = links.issue(secret=new, contract_id="c1", scope="draft", expires_at=NOW + timedelta(hours=1))
    links.check(fresh, secret=new, previous=[old], contract_id="c1", scope="draft", now=NOW)
    with pytest.raises(links.InvalidLink):
        links.check(sent, secret=new, contract_id="c1", scope="draft", now=NOW)


def test_previous_link_secrets_are_read_comma_separated_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from backoffice_contracts.settings import Settings

    monkeypatch.setenv(
        "CONTRACTS_LINK_PREVIOUS_SECRETS", "first-old-secret-of-32-characters-x, second-old-secret-32-chars-xxxxx"
    )
    assert Settings().link_previous_secrets == [
        "first-old-secret-of-32-characters-x",
        "second-old-secret-32-chars-xxxxx",
    ]


@pytest.mark.parametrize("token", ["draft.²³.abc", "draft.1.é", "draft.\u0661\u0662\u0663.abc", "drâft.1.abc"])
def test_a_token_with_non_ascii_characters_is_refused_as_malformed(token: str) -> None:
    with pytest.raises(links.InvalidLink, match="malformed"):
        links.check(token, secret="s" * 32, contract_id="c1", scope="draft", now=NOW)


def test_the_german_signature_page_names_roles_channels_and_times_in_german() -> None:
    from backoffice_contracts.domain.contract import Contract, Party, Signature, SigningOrder, Status
    from backoffice_contracts.domain.document import signature_page_data

    at = datetime(2026, 11, 30, 19, 11, 50, tzinfo=UTC)

    def signed(language: str) -> dict[str, object]:
        contract = Contract(
            id="c1",
            request_id="r1",
            revision=1,
            vendor_id="v1",
            status=Status.AWAITING_SIGNATURES,
            signing_order=SigningOrder.ANY,
            document_sha256="a" * 64,
            expires_at=at + timedelta(days=1),
            language=language,
        )
        contract.sign(Signature(Party.VENDOR, "v", "Vera", "v@x", "vendor", "a" * 64, at, None, None, "link"), now=at)
        buyer = Signature(Party.BUYER, "b", "Bea", "b@x", "buyer_signatory", "a" * 64, at, None, None, "api")
        contract.sign(buyer, now=at)
        return signature_page_data(contract)

    german = signed("de")["signatures"]
    assert [(s["party_label"], s["role"], s["channel"]) for s in german] == [  # type: ignore[index]
        ("Lieferant", "Lieferant", "Unterschriftslink"),
        ("Käufer", "Zeichnungsberechtigte(r) des Käufers", "Plattform (API)"),
    ]
    assert german[0]["signed_at"] == "30.11.2026, 19:11:50 UTC"  # type: ignore[index]
    english = signed("en")["signatures"]
    assert [(s["role"], s["channel"]) for s in english] == [  # type: ignore[index]
        ("vendor", "signing link"),
        ("buyer signatory", "platform (API)"),
    ]
    assert english[0]["signed_at"] == "2026-11-30 19:11:50 UTC"  # type: ignore[index]
