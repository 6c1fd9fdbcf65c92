"""A page cursor comes back from the caller: anything but one this API issued is a 422, never a 500."""

from __future__ import annotations

import base64

import pytest

from backoffice_budgets.api.common import decode_cursor, encode_cursor
from backoffice_common.errors import Invalid


def test_a_cursor_this_api_issued_decodes_to_its_value() -> None:
    assert decode_cursor(encode_cursor(["2026-11-30", "b1"])) == ["2026-11-30", "b1"]


@pytest.mark.parametrize("raw", [b"[" * 12_000, b"\xff\xfe", b"not json"])
def test_a_forged_cursor_nested_too_deeply_or_not_json_is_invalid(raw: bytes) -> None:
    with pytest.raises(Invalid, match="cursor"):
        decode_cursor(base64.urlsafe_b64encode(raw).decode())
