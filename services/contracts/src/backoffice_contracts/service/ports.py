"""What the use cases need from the document adapter (``backoffice_contracts.documents.Documents``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from backoffice_contracts.domain.verification import SealCheck


class DocumentPort(Protocol):
    def render(self, source: str, data: dict[str, Any], *, at: datetime | None = None) -> bytes:
        """Compile a template with ``data``; raises ``TemplateError``. Same inputs, same bytes."""

    def seal_executed(self, draft: bytes, signature_page: dict[str, Any]) -> bytes:
        """The draft plus a signature page rendered from ``signature_page``, sealed with the platform certificate."""

    def check_seal(self, document: bytes) -> SealCheck:
        """Whether ``document`` carries an intact seal chaining to our roots; raises ``NotAPdf``."""
