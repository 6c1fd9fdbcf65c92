"""Pure parts of the checklists pages and the admin editors: evidence from a form, typed JSON/YAML
with the line of a mistake, a service's refusal as lines per item or CSV row."""

from __future__ import annotations

from backoffice_console import admin, checklists, i18n
from backoffice_console.backend import ApiError


def test_the_evidence_an_item_asks_for_comes_from_its_fields_and_empty_ones_are_named() -> None:
    evidence, errors = checklists.evidence_of("interview_held", {"held_by": " hanna ", "held_on": "", "note": "ok"})
    assert evidence == {"held_by": "hanna", "note": "ok"}
    assert set(errors) == {"held_on"}
    assert checklists.evidence_of("confirmation", {"serial_number": "x"}) == ({}, {})  # takes nothing else


def test_a_refused_completion_lands_next_to_its_field_or_on_the_item() -> None:
    second = ApiError(422, "Unprocessable Content", "the sign-off must come from a second person", [])
    assert checklists._item_errors(second, "sign_off")["signed_off_by"].startswith("the sign-off")
    located = ApiError(422, "x", "bad", [{"location": "body.evidence.serial_number", "message": "too long"}])
    assert checklists._item_errors(located, "serial_number") == {"serial_number": "too long"}
    assert checklists._item_errors(ApiError(409, "Conflict", "not ready", []), "confirmation") == {"_": "not ready"}


def test_template_items_typed_as_json_report_the_line_of_a_mistake() -> None:
    assert checklists.parse_items('[{"key": "a"}]') == ([{"key": "a"}], [])
    items, errors = checklists.parse_items('[\n  {"key": "a",}\n]')
    assert items is None
    assert errors[0].startswith("Line 2, column")
    assert checklists.parse_items('{"key": "a"}') == (None, ["The items must be a list of objects."])


def test_a_template_refusal_names_the_item_by_number_and_key() -> None:
    exc = ApiError(
        422,
        "Unprocessable Content",
        "item extra depends on unknown item nowhere",
        [{"location": "body.items.1.due.offset_days", "message": "must be at most 365"}],
    )
    lines = checklists.problem_lines(exc, [{"key": "a"}, {"key": "extra"}])
    assert lines == [
        "item extra depends on unknown item nowhere",
        "item 2 (extra), due.offset_days: must be at most 365",
    ]


def test_the_preview_employee_needs_a_name_and_real_dates() -> None:
    typed, body, errors = checklists.employee_of({"name": "Paula", "start_date": "2027-02-30", "location": "office"})
    assert errors == {"start_date": "Enter a date."}
    assert body["id"] == "preview"
    assert "last_day" not in body
    assert typed["location"] == "office"


def test_safe_next_stays_on_the_checklists_pages() -> None:
    assert checklists._safe_next("/checklists/abc", "/x") == "/checklists/abc"
    assert checklists._safe_next("https://evil.example/checklists", "/x") == "/x"
    assert checklists._safe_next("//evil.example", "/x") == "/x"


def test_a_policy_typed_as_yaml_or_json_is_parsed_or_located() -> None:
    assert admin.parse_policy("name: p\nsteps: []\n", "yaml") == ({"name": "p", "steps": []}, [])
    document, errors = admin.parse_policy("name: p\n  steps: [\n", "yaml")
    assert document is None
    assert errors[0].startswith("Line ")
    assert admin.parse_policy('{"name": 1,}', "json")[1][0].startswith("Line 1, column 12")


def test_a_refused_csv_import_is_reported_per_row_after_the_header() -> None:
    exc = ApiError(
        422,
        "Unprocessable Content",
        "invalid",
        [
            {"location": "body.rows.0.email", "message": "not an email"},
            {"location": "rows[1].limit_amount", "message": "not a decimal"},
            {"location": "body", "message": "x"},
        ],
    )
    assert admin.row_report(exc) == [
        {"row": "2", "field": "email", "message": "not an email"},
        {"row": "3", "field": "limit_amount", "message": "not a decimal"},
        {"row": "", "field": "body", "message": "x"},
    ]


def test_the_approver_form_becomes_the_directory_body() -> None:
    form = {
        "name": "Max",
        "email": "",
        "manager_id": "",
        "department": "ENG",
        "head_of": "ENG, OPS",
        "groups": "",
        "limit_amount": "1.500,50",
        "limit_currency": "eur",
        "active": "on",
    }
    body = admin.approver_body(form, "de")
    assert body["head_of"] == ["ENG", "OPS"]
    assert body["groups"] == []
    assert body["manager_id"] is None
    assert body["limit_amount"] == "1500.50"
    assert body["limit_currency"] == "EUR"
    assert body["active"] is True


def test_every_checklist_text_has_its_german() -> None:
    for text in ("My checklist items", "Red flag", "Record interview as held", "Enter this to complete the item."):
        assert i18n.translate("de", text) != text
