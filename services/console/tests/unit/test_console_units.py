"""Pure parts of the console: numbers and money per language, sessions, safe redirects, field errors."""

from __future__ import annotations

import time

import pytest

from backoffice_console import i18n
from backoffice_console.auth_routes import _safe_target
from backoffice_console.backend import ApiError
from backoffice_console.sessions import SessionStore


@pytest.mark.parametrize(
    ("locale", "typed", "sent"),
    [("de", "1.200,50", "1200.50"), ("de", "149,90", "149.90"), ("en", "1,200.50", "1200.50"), ("en", "abc", "abc")],
)
def test_numbers_typed_in_the_users_language_reach_the_api_as_plain_decimals(
    locale: str, typed: str, sent: str
) -> None:
    assert i18n.decimal_input(locale, typed) == sent


def test_money_and_dates_are_formatted_for_the_language() -> None:
    assert i18n.money("en", "12749.50", "EUR") == "€12,749.50"
    assert i18n.money("de", "12749.50", "EUR").replace("\xa0", " ") == "12.749,50 €"
    assert i18n.when("de", "2026-12-29") == "29.12.2026"
    assert i18n.translate("de", "Approve") == "Freigeben"
    assert i18n.translate("en", "Approve") == "Approve"
    assert i18n.normalize("de-AT") == "de"
    assert i18n.normalize("fr") == "en"


def test_an_idle_session_expires_and_ids_are_unguessable() -> None:
    store = SessionStore(idle_seconds=60, max_seconds=3600, max_sessions=10)
    session = store.new()
    assert store.get(session.id) is session
    assert len(session.id) >= 40
    assert session.csrf != session.id
    session.seen = time.time() - 61
    assert store.get(session.id) is None
    assert store.get("made-up") is None


def test_the_oldest_session_makes_room_when_the_store_is_full() -> None:
    store = SessionStore(idle_seconds=60, max_seconds=3600, max_sessions=2)
    first, second = store.new(), store.new()
    first.seen -= 10
    store.new()
    assert store.get(first.id) is None
    assert store.get(second.id) is second


@pytest.mark.parametrize(
    ("target", "safe"),
    [("/tasks/1", "/tasks/1"), ("//evil.example/x", "/"), ("https://evil.example", "/"), ("/\\evil", "/"), ("", "/")],
)
def test_only_paths_of_the_console_are_redirect_targets(target: str, safe: str) -> None:
    assert _safe_target(target) == safe


def test_problem_locations_become_field_names() -> None:
    error = ApiError(422, "Unprocessable", "bad", [{"location": "body.lines.0.quantity", "message": "must be > 0"}])
    assert error.field_errors() == {"lines.0.quantity": "must be > 0"}
