"""A page cursor comes back from the caller: anything but one this service issued is refused, never a 500."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime

import pytest

from backoffice_requests.service.queries import BadCursor, decode_cursor, encode_cursor


def test_a_cursor_this_service_issued_decodes_to_its_position() -> None:
    at, request_id = datetime(2026, 11, 30, tzinfo=UTC), str(uuid.uuid4())
    assert decode_cursor(encode_cursor(at, request_id)) == (at, request_id)


@pytest.mark.parametrize("raw", [b"[" * 12_000, b"\xff\xfe", b'["x", "y", "z"]', b"{}"])
def test_a_forged_cursor_nested_too_deeply_or_of_another_shape_is_bad(raw: bytes) -> None:
    with pytest.raises(BadCursor):
        decode_cursor(base64.urlsafe_b64encode(raw).decode())
