"""Pure units of the shared plumbing: safe strings, event payload parsing, backoff, placeholder secrets."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Annotated, ClassVar

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, Field, ValidationError
from pydantic_settings import SettingsConfigDict

from backoffice_common import consumer, topics
from backoffice_common.events import PermanentEventError, new_event, parse_payload
from backoffice_common.retry import Backoff
from backoffice_common.settings import DEV_JWT_SECRET, ServiceSettings
from backoffice_common.strings import NUL_FREE, NUL_FREE_NONEMPTY, SafeStr, SafeText, clean_text, strip_nul

# --- safe strings ----------------------------------------------------------------------------

Title = Annotated[str, SafeText(min_length=1, max_length=10, strip=True)]
Code = Annotated[str, SafeText(max_length=5, pattern=r"^[A-Z]*$")]


class Form(BaseModel):
    title: Title
    note: SafeStr = ""
    tags: list[Annotated[str, SafeText(min_length=1, max_length=4)]] = []
    code: Code = ""


def _refused(**values: object) -> str:
    with pytest.raises(ValidationError) as caught:
        Form.model_validate(values)
    return str(caught.value)


def test_safe_text_applies_its_constraints_and_refuses_nul_and_lone_surrogates() -> None:
    form = Form(title="  Laptops  ", note="any length " * 100, tags=["a", "bcd"], code="AB")
    assert form.title == "Laptops"
    assert "NUL" in _refused(title="ab\x00c")
    assert "NUL" in _refused(title="ok", note="\x00")
    assert "NUL" in _refused(title="ok", tags=["a\x00"])
    assert "surrogate" in _refused(title="ok", note="broken \ud800 text")
    assert "at most 10" in _refused(title="x" * 11)
    assert "at least 1" in _refused(title="   ")
    assert "at most 4" in _refused(title="ok", tags=["abcde"])
    assert "pattern" in _refused(title="ok", code="ab")


def test_safe_text_shows_its_constraints_in_the_json_schema() -> None:
    schema = Form.model_json_schema()["properties"]
    assert schema["title"] == {"maxLength": 10, "minLength": 1, "title": "Title", "type": "string"}
    assert schema["code"]["pattern"] == "^[A-Z]*$"


@given(st.text())
def test_clean_text_accepts_exactly_the_strings_postgresql_can_store(text: str) -> None:
    storable = "\x00" not in text and not any(0xD800 <= ord(c) <= 0xDFFF for c in text)
    if storable:
        assert clean_text(text) == text
    else:
        with pytest.raises(ValueError):
            clean_text(text)


def test_nul_free_patterns_and_strip_nul() -> None:
    import re

    assert re.match(NUL_FREE, "")
    assert not re.match(NUL_FREE, "a\x00")
    assert not re.match(NUL_FREE_NONEMPTY, "")
    assert re.match(NUL_FREE_NONEMPTY, "a")
    assert strip_nul({"a\x00": ["x\x00y", 1, {"k": "\x00"}], "n": None}) == {"a": ["xy", 1, {"k": ""}], "n": None}


# --- event payloads --------------------------------------------------------------------------


class Line(BaseModel):
    amount: Decimal = Field(gt=0)


class Submitted(BaseModel):
    request_id: str
    lines: list[Line]


def test_parse_payload_returns_the_model() -> None:
    event = new_event(type="purchase_request.submitted", service="t", subject="r1", data={
        "request_id": "r1", "lines": [{"amount": "12.50"}], "extra": "ignored"
    })  # fmt: skip
    parsed = parse_payload(Submitted, event)
    assert parsed == Submitted(request_id="r1", lines=[Line(amount=Decimal("12.50"))])


def test_a_payload_that_does_not_fit_is_a_permanent_error_naming_the_event() -> None:
    event = new_event(type="purchase_request.submitted", service="t", subject="r1", data={"lines": [{"amount": "-1"}]})
    with pytest.raises(PermanentEventError) as caught:
        parse_payload(Submitted, event)
    message = str(caught.value)
    assert message.startswith(f"purchase_request.submitted {event.id}: ")
    assert "Submitted" in message
    assert "data.request_id: Field required" in message
    assert "data.lines[0].amount: Input should be greater than 0" in message
    assert consumer.PermanentEventError is PermanentEventError


def test_the_errors_listed_are_the_first_five() -> None:
    class Many(BaseModel):
        a: int
        b: int
        c: int
        d: int
        e: int
        f: int
        g: int

    event = new_event(type="thing.happened", service="t", subject=None, data={})
    with pytest.raises(PermanentEventError, match=r"data\.e: Field required \(and 2 more\)$"):
        parse_payload(Many, event)


# --- backoff ---------------------------------------------------------------------------------


def test_backoff_doubles_up_to_its_maximum_and_starts_again_after_reset() -> None:
    backoff = Backoff(0.5, 10.0)
    assert [backoff.next() for _ in range(7)] == [0.5, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    backoff.reset()
    assert backoff.current == 0.5
    assert backoff.next() == 0.5
    tripled = Backoff(1.0, 20.0, factor=3.0)
    assert [tripled.next() for _ in range(4)] == [1.0, 3.0, 9.0, 20.0]


@pytest.mark.parametrize(("initial", "maximum", "factor"), [(0, 1, 2), (2, 1, 2), (1, 2, 0.5)])
def test_backoff_refuses_nonsense(initial: float, maximum: float, factor: float) -> None:
    with pytest.raises(ValueError):
        Backoff(initial, maximum, factor=factor)


async def test_backoff_sleep_waits_the_next_delay() -> None:
    backoff = Backoff(0.01, 0.02)
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert await backoff.sleep() == 0.01
    assert await backoff.sleep() == 0.02
    assert loop.time() - started >= 0.03


# --- placeholder secrets ---------------------------------------------------------------------


class KeyedSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="KEYED_", extra="ignore")
    secret_fields: ClassVar[tuple[str, ...]] = ("link_key", "smtp_password")
    placeholder_secrets: ClassVar[frozenset[str]] = frozenset({"development-only-link-key-long-enough-to-pass"})

    link_key: str = "development-only-link-key-long-enough-to-pass"
    smtp_password: str | None = None


REAL = "r" * 40


@pytest.mark.parametrize("environment", ["test", "production"])
def test_placeholder_secrets_are_refused_outside_development(environment: str) -> None:
    for secret in (DEV_JWT_SECRET, "changeme", "short-but-not-a-placeholder"):
        with pytest.raises(ValidationError, match="jwt_secret: a placeholder"):
            ServiceSettings(environment=environment, jwt_secret=secret)  # type: ignore[arg-type]
    assert ServiceSettings(environment=environment, jwt_secret=REAL).jwt_secret == REAL  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="link_key"):
        KeyedSettings(environment=environment, jwt_secret=REAL)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="smtp_password"):
        KeyedSettings(environment=environment, jwt_secret=REAL, link_key=REAL, smtp_password="secret")  # type: ignore[arg-type]
    both = "jwt_secret, link_key"
    with pytest.raises(ValidationError, match=both):
        KeyedSettings(environment=environment)  # type: ignore[arg-type]
    ok = KeyedSettings(environment=environment, jwt_secret=REAL, link_key="k" * 32)  # type: ignore[arg-type]
    assert ok.smtp_password is None


def test_development_accepts_the_placeholders_and_rs256_needs_no_jwt_secret() -> None:
    assert KeyedSettings(environment="development").link_key.startswith("development-only")
    rs = ServiceSettings(environment="test", jwt_algorithm="RS256", jwt_jwks_url="http://127.0.0.1:1/jwks")
    assert rs.jwt_secret == DEV_JWT_SECRET


def test_topic_names() -> None:
    assert topics.REQUESTS == "backoffice.requests"
    assert topics.VENDORS in topics.COMPACTED
    assert {topics.BUDGETS, topics.COST_CENTRES, topics.HR, topics.CHECKLISTS} == {
        "backoffice.budgets",
        "backoffice.cost_centres",
        "backoffice.hr",
        "backoffice.checklists",
    }


def test_the_relay_fallback_poll_backs_off_while_idle_and_never_beyond_a_parked_key() -> None:
    import time

    from backoffice_common.outbox import OutboxRelay

    relay = OutboxRelay(dsn="postgresql://unused", service="units", producer_factory=lambda: None, poll_interval=2.0)  # type: ignore[arg-type,return-value]
    waits = []
    for idle_polls in range(6):
        relay._idle_polls = idle_polls
        waits.append(relay._next_wait())
    assert waits == [2.0, 4.0, 8.0, 16.0, 16.0, 16.0]  # doubled per empty poll, at most 8 x the interval
    relay._parked = {"k": time.monotonic() + 3.0}
    assert 2.5 < relay._next_wait() <= 3.0  # a parked key's retry is never waited past


def test_acknowledged_rows_wait_for_a_fetch_to_carry_their_mark_for_mark_wait_at_most() -> None:
    import time

    from backoffice_common.outbox import OutboxRelay

    relay = OutboxRelay(dsn="postgresql://unused", service="units", producer_factory=lambda: None, poll_interval=5.0)  # type: ignore[arg-type,return-value]
    assert relay._marks_wait() is None  # nothing acknowledged: the poll alone
    relay._unmarked = [7, 8]
    relay._unmarked_since = time.monotonic()
    assert relay.MARK_WAIT - 0.1 < relay._marks_wait() <= relay.MARK_WAIT  # type: ignore[operator]
    relay._unmarked_since = time.monotonic() - 3 * relay.MARK_WAIT
    assert relay._marks_wait() == 0.0  # overdue: at once
