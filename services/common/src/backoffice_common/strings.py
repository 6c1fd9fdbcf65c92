"""String types PostgreSQL can store: no NUL character, no lone surrogate (pydantic ``Annotated`` types).

    from backoffice_common.strings import SafeStr, SafeText

    Title = Annotated[str, SafeText(min_length=1, max_length=200, strip=True)]

    class VendorCreate(BaseModel):
        name: Title
        note: SafeStr = ""

``SafeText(...)`` is metadata (string constraints plus the NUL check), so the alias is an ordinary
``Annotated`` type that mypy accepts; the lengths and pattern appear in the OpenAPI schema as usual.
For path and query parameters, which FastAPI checks by pattern, use ``NUL_FREE`` /
``NUL_FREE_NONEMPTY`` as ``pattern=``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any

import annotated_types
from pydantic import AfterValidator, StringConstraints

NUL_FREE = r"^[^\x00]*$"
"""A regular expression for a string without NUL (for ``Path``/``Query``/``Field`` ``pattern=``)."""
NUL_FREE_NONEMPTY = r"^[^\x00]+$"


def clean_text(value: str) -> str:
    """``value`` unchanged, or ValueError if PostgreSQL could not store it (NUL, lone surrogate)."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid UTF-8 (lone surrogates are not)") from None
    return value


def strip_nul(value: Any) -> Any:
    """``value`` with NUL characters removed from every string in it (for JSON another party sent)."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {strip_nul(k): strip_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [strip_nul(v) for v in value]
    return value


NoNul = AfterValidator(clean_text)
"""The validator alone, to add to an ``Annotated`` type of your own."""

SafeStr = Annotated[str, NoNul]
"""Any length, no NUL, valid UTF-8."""


@dataclass(frozen=True)
class SafeText(annotated_types.GroupedMetadata):
    """String constraints plus ``clean_text``: ``Annotated[str, SafeText(max_length=300, strip=True)]``.

    ``strip`` removes surrounding whitespace before the lengths are checked.
    """

    min_length: int | None = None
    max_length: int | None = None
    strip: bool = False
    pattern: str | None = None

    def __iter__(self) -> Iterator[object]:
        yield from StringConstraints(
            strip_whitespace=self.strip or None,
            min_length=self.min_length,
            max_length=self.max_length,
            pattern=self.pattern,
        )
        yield NoNul


__all__ = ["NUL_FREE", "NUL_FREE_NONEMPTY", "NoNul", "SafeStr", "SafeText", "clean_text", "strip_nul"]
