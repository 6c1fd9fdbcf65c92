from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from standardwebhooks import Webhook

from backoffice_notifications.domain.webhook_signature import (
    MalformedSignatureHeaders,
    SignatureError,
    new_secret,
    parse_headers,
    sign,
    signature_header,
    verify,
)

# The test vector of the Standard Webhooks specification.
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TS = 1614265330
SPEC_BODY = b'{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def headers_for(secret: str, body: bytes, ts: int, msg_id: str = "msg_1") -> dict[str, str]:
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(ts),
        "webhook-signature": sign(secret=secret, msg_id=msg_id, timestamp=ts, body=body),
    }


def test_signing_reproduces_the_specification_test_vector() -> None:
    assert sign(secret=SPEC_SECRET, msg_id=SPEC_ID, timestamp=SPEC_TS, body=SPEC_BODY) == SPEC_SIGNATURE


def test_a_signature_made_here_verifies_with_the_reference_library() -> None:
    secret = new_secret()
    ts = int(time.time())
    body = b'{"order": 1}'
    Webhook(secret).verify(body, headers_for(secret, body, ts))


def test_a_signature_made_by_the_reference_library_verifies_here() -> None:
    secret = new_secret()
    now = datetime.now(UTC)
    body = '{"action": "accept"}'
    signature = Webhook(secret).sign("msg_x", now, body)
    headers = parse_headers(
        {"webhook-id": "msg_x", "webhook-timestamp": str(int(now.timestamp())), "webhook-signature": signature}
    )
    verify(secrets_=[secret], headers=headers, body=body.encode(), now=time.time(), tolerance=300)


def test_a_body_changed_after_signing_is_refused() -> None:
    secret = new_secret()
    ts = int(time.time())
    headers = parse_headers(headers_for(secret, b'{"a":1}', ts))
    with pytest.raises(SignatureError, match="no signature matches"):
        verify(secrets_=[secret], headers=headers, body=b'{"a":2}', now=ts, tolerance=300)


def test_timestamps_outside_five_minutes_are_refused_both_ways() -> None:
    secret = new_secret()
    ts = 1_700_000_000
    headers = parse_headers(headers_for(secret, b"{}", ts))
    verify(secrets_=[secret], headers=headers, body=b"{}", now=ts + 299, tolerance=300)
    with pytest.raises(SignatureError, match="too old"):
        verify(secrets_=[secret], headers=headers, body=b"{}", now=ts + 301, tolerance=300)
    with pytest.raises(SignatureError, match="future"):
        verify(secrets_=[secret], headers=headers, body=b"{}", now=ts - 301, tolerance=300)


def test_either_secret_verifies_during_a_rotation() -> None:
    old, new = new_secret(), new_secret()
    ts = int(time.time())
    for used in (old, new):
        verify(
            secrets_=[new, old], headers=parse_headers(headers_for(used, b"{}", ts)), body=b"{}", now=ts, tolerance=300
        )
    with pytest.raises(SignatureError):
        verify(secrets_=[new], headers=parse_headers(headers_for(old, b"{}", ts)), body=b"{}", now=ts, tolerance=300)


def test_an_outbound_header_carries_one_signature_per_valid_secret() -> None:
    old, new = new_secret(), new_secret()
    header = signature_header(secrets_=[new, old], msg_id="m", timestamp=1, body=b"x")
    assert len(header.split(" ")) == 2
    assert all(part.startswith("v1,") for part in header.split(" "))


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"webhook-id": "m", "webhook-timestamp": "abc", "webhook-signature": "v1,x"},
        {"webhook-id": "m" * 201, "webhook-timestamp": "1", "webhook-signature": "v1,x"},
    ],
)
def test_missing_or_malformed_headers_are_refused(headers: dict[str, str]) -> None:
    with pytest.raises(SignatureError):
        parse_headers(headers)


@pytest.mark.parametrize("timestamp", ["²³", "\u0661\u0667" + "\u0660" * 8, "17e8", "-1", " 1700000000"])
def test_a_timestamp_that_is_not_ascii_digits_is_a_malformed_header(timestamp: str) -> None:
    headers = {"webhook-id": "msg_1", "webhook-timestamp": timestamp, "webhook-signature": "v1,abc"}
    with pytest.raises(MalformedSignatureHeaders, match="ASCII digits"):
        parse_headers(headers)
