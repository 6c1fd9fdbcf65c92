"""Rendering the default templates with typst (CPU only, no files or network)."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader

from backoffice_contracts import service
from backoffice_contracts.documents import pdf


def text(document: bytes) -> str:
    return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(document)).pages)


@pytest.mark.parametrize(("language", "heading"), [("en", "Purchase Contract"), ("de", "Kaufvertrag")])
def test_the_default_templates_render_the_sample_order(language: str, heading: str) -> None:
    document = pdf.render(pdf.default_template(language), service.sample_data(language))
    content = text(document)
    assert heading in content
    assert "PR-000000" in content
    assert ("10.00 EUR" if language == "en" else "10,00 EUR") in content


def test_the_same_data_renders_to_the_same_bytes() -> None:
    data = service.sample_data("de")
    assert pdf.render(pdf.default_template("de"), data) == pdf.render(pdf.default_template("de"), data)


def test_markup_in_order_data_is_shown_as_text_not_interpreted() -> None:
    data = service.sample_data("en")
    data["lines"][0]["description"] = '#read("/etc/passwd") *bold* $x$ <label> @ref'
    content = text(pdf.render(pdf.default_template("en"), data))
    assert '#read("/etc/passwd") *bold* $x$ <label> @ref' in content


def test_local_packages_are_not_found_by_the_resolver_even_when_the_name_is_computed() -> None:
    with pytest.raises(pdf.TemplateError, match="package not found"):
        pdf.render('#let p = "@local/x:0.1.0"; #import p', {})
