"""What checking an uploaded PDF found: its seal, and whether it is an executed contract issued here."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class SealCheck:
    signed: bool
    intact: bool
    trusted: bool
    covers_whole_file: bool
    signer_subject: str | None

    @property
    def valid(self) -> bool:
        return self.signed and self.intact and self.trusted and self.covers_whole_file


@dataclass(frozen=True)
class Verification:
    sha256: str
    seal: SealCheck
    contract: dict[str, Any] | None = None
    """The executed contract whose document is byte-for-byte the upload, if any."""
    signatures: list[dict[str, Any]] = field(default_factory=list)

    @property
    def issued_here(self) -> bool:
        return self.contract is not None

    @property
    def unmodified(self) -> bool:
        return self.issued_here and self.seal.valid
