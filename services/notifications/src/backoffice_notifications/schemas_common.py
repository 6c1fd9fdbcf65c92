"""Constrained field types shared by this service's schemas."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, StringConstraints


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def _email(value: str) -> str:
    local, at, domain = value.rpartition("@")
    if not at or not local or "." not in domain or any(c.isspace() for c in value) or "," in value:
        raise ValueError("must be an email address like name@example.com")
    return value


Email = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=3, max_length=320),
    AfterValidator(_no_nul),
    AfterValidator(_email),
]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=300), AfterValidator(_no_nul)]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=4000), AfterValidator(_no_nul)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300), AfterValidator(_no_nul)]
