"""Pure parts of the contract templates page and the problem types the console tells apart."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from starlette.exceptions import HTTPException

from backoffice_console import i18n
from backoffice_console.backend import ApiError, _problem
from backoffice_console.contract_templates import _checked, by_language, is_segregation_refusal

TEMPLATES = Path(__file__).resolve().parents[2] / "src" / "backoffice_console" / "templates"


def test_versions_are_grouped_per_language_newest_first() -> None:
    found = by_language(
        [
            {"language": "en", "version": 1, "status": "superseded"},
            {"language": "de", "version": 1, "status": "active"},
            {"language": "en", "version": 3, "status": "pending"},
            {"language": "en", "version": 2, "status": "active"},
        ]
    )
    assert [v["version"] for v in found["en"]] == [3, 2, 1]
    assert [v["version"] for v in found["de"]] == [1]
    assert by_language([]) == {"en": [], "de": []}


@pytest.mark.parametrize(("language", "version"), [("fr", "1"), ("en", "0"), ("en", "x"), ("de", "1/../2"), ("en", "")])
def test_only_a_language_and_a_positive_version_reach_the_contracts_service(language: str, version: str) -> None:
    with pytest.raises(HTTPException) as refused:
        _checked(language, version)
    assert refused.value.status_code == 404
    assert _checked("de", "12") == ("de", 12)


def test_the_uploader_refused_by_four_eyes_is_told_apart_from_a_plain_403() -> None:
    answer = httpx.Response(
        403,
        json={
            "type": "https://backoffice.example/problems/segregation-of-duties",
            "title": "Forbidden",
            "detail": "the uploader may not activate",
            "rule": "template_author",
        },
    )
    problem = _problem(answer)
    assert problem.type.endswith("segregation-of-duties")
    assert is_segregation_refusal(problem)
    assert not is_segregation_refusal(ApiError(403, "Forbidden", "role admin needed", []))
    assert not is_segregation_refusal(ApiError(409, "Conflict", "", [], type=problem.type))


def test_every_text_of_the_new_pages_has_its_german() -> None:
    missing = []
    for name in ("contract_templates.html", "vendor_form.html"):
        for text in re.findall(r't\("([^"]+)"\)', (TEMPLATES / name).read_text()):
            if text not in i18n.GERMAN:
                missing.append(f"{name}: {text}")
    assert missing == []
    assert i18n.translate("de", "Send a new webhook secret to the vendor").startswith("Dem Lieferanten")
