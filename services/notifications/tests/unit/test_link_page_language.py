"""The language of the vendor link pages: the vendor's, else the reader's Accept-Language (pure)."""

from __future__ import annotations

from backoffice_notifications.api.pages import LANGUAGES, TEXT, page, page_language


def test_the_vendors_language_wins_over_the_browsers() -> None:
    assert page_language("de", "en-US,en;q=0.9") == "de"
    assert page_language("de-CH", None) == "de"
    assert page_language("fr", "de") == "en"


def test_without_a_vendor_the_best_supported_accept_language_is_chosen() -> None:
    assert page_language(None, "fr-FR, de;q=0.8, en;q=0.5") == "de"
    assert page_language(None, "en;q=0.3, de;q=0.9") == "de"
    assert page_language(None, "de;q=0, en") == "en"
    assert page_language(None, "*") == "en"
    assert page_language(None, "de;q=abc") == "en"
    assert page_language(None, None) == "en"


def test_every_wording_of_the_pages_exists_in_each_language() -> None:
    assert set(TEXT) == set(LANGUAGES)
    assert set(TEXT["de"]) == set(TEXT["en"])


def test_the_german_signing_page_is_german_with_german_numbers_and_escapes_what_it_shows() -> None:
    contract = {"contract_id": "c-1", "document_url": "https://x/doc", "document_sha256": "ab" * 32}
    html = page(
        "contract", lang="de", title=TEXT["de"]["sign_title"], contract=contract, number="PR-1", vendor_name="<ACME>"
    )
    assert '<html lang="de">' in html
    assert "Vertrag unterschreiben" in html
    assert "im Namen von &lt;ACME&gt;" in html
    order = {
        "number": "PR-2",
        "title": "Laptops",
        "currency": "EUR",
        "total": "2400.00",
        "needed_by": "2027-01-15",
        "lines": [
            {"line_no": 1, "description": "L", "quantity": "1.5", "unit": "m", "unit_price": "1600", "amount": "2400"}
        ],
    }
    german = page("order", lang="de", title="Bestellung", order=order, vendor_name="V")
    for expected in ("1,5 m", "2.400,00 EUR", "benötigt bis 15. Januar 2027"):
        assert expected in german
    english = page("order", lang="en", title="Purchase order", order=order, vendor_name="V")
    for expected in ("2,400.00 EUR", "needed by 15 January 2027"):
        assert expected in english


def test_the_secret_retrieval_pages_are_written_in_each_language() -> None:
    for lang, button, once in (
        ("en", "Reveal the secret", "<strong>once</strong>:"),
        ("de", "Schlüssel anzeigen", "<strong>nur einmal</strong> angezeigt"),
    ):
        form = page("secret_form", lang=lang, title=TEXT[lang]["secret_title"], vendor_name="<ACME>", secret_id="s-1")
        assert f'<html lang="{lang}">' in form
        assert button in form
        assert once in form
        assert "<strong>&lt;ACME&gt;</strong>" in form
        revealed = page("secret", lang=lang, title="t", vendor_name="V", secret_id="s-1", secret="whsec_x")
        assert '<code id="secret">whsec_x</code>' in revealed
        assert TEXT[lang]["secret_not_again"] in revealed
