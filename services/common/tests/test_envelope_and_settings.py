"""Pure tests of the CloudEvents envelope and the settings (no I/O)."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from backoffice_common.events import CloudEvent, EnvelopeError, new_event
from backoffice_common.outbox import advisory_lock_key
from backoffice_common.settings import ServiceSettings


def test_an_event_caused_by_another_inherits_its_correlation_id_and_names_it_as_cause() -> None:
    first = new_event(type="purchase_request.submitted", service="requests", subject="pr-1", data={"total": "10.00"})
    second = new_event(type="approval.task_assigned", service="approvals", subject="pr-1", data={}, cause=first)
    assert first.correlationid == first.id
    assert second.correlationid == first.id
    assert second.causationid == first.id
    assert second.source == "backoffice/approvals"


def test_the_envelope_is_structured_cloudevents_json() -> None:
    e = new_event(type="vendor.accepted", service="notifications", subject="pr-9", data={"note": "ok"})
    decoded = json.loads(e.to_json_bytes())
    assert decoded["specversion"] == "1.0"
    assert decoded["datacontenttype"] == "application/json"
    assert {"id", "source", "type", "subject", "time", "data", "correlationid"} <= decoded.keys()
    assert CloudEvent.from_json_bytes(e.to_json_bytes()) == e


@given(st.binary(max_size=200))
def test_arbitrary_bytes_never_decode_into_something_other_than_an_envelope_error(raw: bytes) -> None:
    with contextlib.suppress(EnvelopeError):
        CloudEvent.from_json_bytes(raw)


@pytest.mark.parametrize(
    "raw",
    [
        None,
        b"[]",
        b'{"specversion": "0.3", "id": "1", "source": "s", "type": "a.b"}',
        b'{"specversion": "1.0", "id": "1", "source": "s", "type": "not a type"}',
        b'{"specversion": "1.0", "source": "s"}',
    ],
)
def test_invalid_envelopes_are_refused_with_a_reason(raw: bytes | None) -> None:
    with pytest.raises(EnvelopeError):
        CloudEvent.from_json_bytes(raw)


def _decoded_as_before(raw: bytes) -> CloudEvent | str:
    """What ``from_json_bytes`` gave before the one-pass parse: ``json`` then ``model_validate``."""
    try:
        decoded = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return f"record value is not UTF-8 JSON: {exc}"
    if not isinstance(decoded, dict):
        return "record value is not a JSON object"
    if decoded.get("specversion") != "1.0":
        return f"unsupported specversion {decoded.get('specversion')!r}"
    try:
        return CloudEvent.model_validate(decoded)
    except ValidationError as exc:
        return f"invalid CloudEvent: {exc.errors(include_url=False)}"


@pytest.mark.parametrize(
    "raw",
    [
        b'{"specversion": "1.0", "id": "1", "source": "s", "type": "a.b", "time": "2026-01-01T00:00:00Z", "data": {"x": "\\ud800"}}',
        b'{"source": "s", "type": "a.b"}',  # no specversion: the model's default must not let it through
        b'{"specversion": 1.0, "id": "1", "source": "s", "type": "a.b"}',
        b'\xef\xbb\xbf{"specversion": "1.0", "id": "1", "source": "s", "type": "a.b"}',
        b'{"specversion": "1.0", "id": "1", "source": "s", "type": "a.b", "data": {"x": "\xff"}}',
        b'{"specversion": "1.0", "id": "1", "source": "s", "type": "a.b", "type": "c.d", "time": "2026-01-01T00:00:00Z",'
        b' "data": {"n": Infinity}}',
        b'{"specversion": "1.0", "id": "", "source": "s", "type": "a.b"}',
        b'{"specversion": "1.0", "id": "1", "source": "s", "type": "a.b", "time": 1700000000, "ext": [1, 2.5]}',
        new_event(
            type="vendor.accepted", service="notifications", subject="pr-9", data={"ü": [1, {"a": None}]}
        ).to_json_bytes(),
    ],
)
def test_the_one_pass_decode_accepts_and_refuses_what_json_and_model_validate_did(raw: bytes) -> None:
    expected = _decoded_as_before(raw)
    try:
        got: CloudEvent | str = CloudEvent.from_json_bytes(raw)
    except EnvelopeError as exc:
        got = str(exc)
    assert got == expected


def test_settings_refuse_a_placeholder_jwt_secret_in_production() -> None:
    with pytest.raises(ValidationError, match="placeholder"):
        ServiceSettings(environment="production", jwt_secret="changeme")
    ok = ServiceSettings(environment="production", jwt_secret="x" * 40)
    assert ok.jwt_secret == "x" * 40


def test_settings_accept_the_development_secret_in_development() -> None:
    assert ServiceSettings(environment="development").jwt_algorithm == "HS256"


def test_rs256_needs_a_jwks_url() -> None:
    with pytest.raises(ValidationError, match="jwks"):
        ServiceSettings(jwt_algorithm="RS256")


def test_settings_read_the_service_prefix_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from pydantic_settings import SettingsConfigDict

    class DemoSettings(ServiceSettings):
        model_config = SettingsConfigDict(env_prefix="DEMO_", extra="ignore")

    monkeypatch.setenv("DEMO_KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:19092")
    monkeypatch.setenv("DEMO_CONSUMER_MAX_ATTEMPTS", "7")
    settings = DemoSettings()
    assert settings.kafka_bootstrap_servers == "127.0.0.1:19092"
    assert settings.consumer_max_attempts == 7


def test_advisory_lock_keys_are_stable_and_distinct_per_service() -> None:
    assert advisory_lock_key("outbox-relay:requests") == advisory_lock_key("outbox-relay:requests")
    assert advisory_lock_key("outbox-relay:requests") != advisory_lock_key("outbox-relay:approvals")
