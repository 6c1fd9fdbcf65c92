"""The document adapter: typst rendering, PDF assembly, PAdES sealing and seal checks, behind one object.

``pdf`` renders the service's own templates with typst; ``sandbox`` renders admin
templates in child processes under time, CPU and memory limits; ``sealing`` signs and checks PDFs
with pyHanko; ``pki`` loads the platform's sealing certificate (or generates the development CA).
All of it is CPU work or reads the certificate files once; use cases call it through ``asyncio.to_thread``.
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any

from backoffice_contracts.documents import pdf, sealing
from backoffice_contracts.documents.pki import SealingIdentity, load_identity
from backoffice_contracts.documents.sandbox import RenderLimits, RenderSandbox
from backoffice_contracts.domain.verification import SealCheck
from backoffice_contracts.settings import Settings


class Documents:
    """Renders drafts, builds and seals executed contracts, checks uploaded PDFs (``service.ports.DocumentPort``)."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._identity: SealingIdentity | None = None
        self._lock = threading.Lock()
        self.sandbox = RenderSandbox(
            RenderLimits(
                wall_seconds=settings.render_timeout_seconds,
                cpu_seconds=settings.render_cpu_seconds,
                memory_bytes=settings.render_memory_mb * 1024 * 1024,
            ),
            workers=settings.render_workers,
        )

    def identity(self) -> SealingIdentity:
        """The sealing key and certificates, loaded (or, in development, generated) once."""
        with self._lock:
            if self._identity is None:
                self._identity = load_identity(self._settings)
            return self._identity

    def render(self, source: str, data: dict[str, Any], *, at: datetime | None = None) -> bytes:
        """An admin template with ``data``, compiled in the sandbox (``TemplateError`` on failure or a limit)."""
        pdf.check_template_source(source)
        inputs, timestamp = pdf.compile_inputs(data, at)
        return self.sandbox.render(source, inputs, timestamp=timestamp)

    def close(self) -> None:
        self.sandbox.close()

    def seal_executed(self, draft: bytes, signature_page: dict[str, Any]) -> bytes:
        """The draft's bytes unchanged, then one incremental update: the signature page and the platform's seal."""
        return sealing.seal(
            draft,
            self.identity(),
            reason=f"Executed contract {signature_page['contract_id']}",
            location=self._settings.buyer_legal_name,
            append=pdf.render_signature_page(signature_page),
        )

    def check_seal(self, document: bytes) -> SealCheck:
        return sealing.check_seal(document, self.identity())


__all__ = ["Documents"]
