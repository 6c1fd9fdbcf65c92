"""Rendering contract PDFs with typst (fonts bundled, no system packages) and assembling the executed copy.

``render`` compiles in this process: for the service's own templates (the signature page) and tests. Admin
templates are compiled by ``sandbox.RenderSandbox`` in a child process under limits, with the same inputs
(``compile_inputs``), so both give the same bytes.
"""

from __future__ import annotations

import io
import json
import tempfile
import threading
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from typing import Any

import typst
from pypdf import PdfReader, PdfWriter

from backoffice_contracts.domain.errors import TemplateError

__all__ = ["TemplateError", "append_pages", "check_template_source", "compile_inputs", "default_template", "render"]

_TEMPLATES = "backoffice_contracts.documents.templates"


def default_template(language: str) -> str:
    return resources.files(_TEMPLATES).joinpath(f"contract.{language}.typ").read_text("utf-8")


@cache
def _signature_page_source() -> bytes:
    return resources.files(_TEMPLATES).joinpath("signature_page.typ").read_bytes()


@cache
def _sandbox_root() -> str:
    # An empty directory as typst's root and package path: a template cannot read() files of the service.
    return tempfile.mkdtemp(prefix="contracts-typst-")


_compiler_lock = threading.Lock()


@cache
def _compiler() -> typst.Compiler:
    """One compiler kept for the process (fonts loaded once); it is not reentrant, hence the lock."""
    root = _sandbox_root()
    return typst.Compiler(root=root, ignore_system_fonts=True, package_path=root, package_cache_path=root)


def check_template_source(source: str) -> None:
    """What is refused before compiling. Package imports are refused by typst's resolver (no package path)."""
    if "\x00" in source:
        raise TemplateError("the template contains a NUL character")


def compile_inputs(data: dict[str, Any], at: datetime | None) -> tuple[dict[str, str], int]:
    """``sys.inputs`` (the data as JSON in ``data``) and the PDF timestamp of a render."""
    inputs = {"data": json.dumps(data, ensure_ascii=False)}
    return inputs, int((at or datetime(2000, 1, 1, tzinfo=UTC)).timestamp())


def render(source: str | bytes, data: dict[str, Any], *, at: datetime | None = None) -> bytes:
    """Compile a trusted template in this process with ``data`` as ``sys.inputs.data``; same inputs, same bytes."""
    raw = source.encode("utf-8") if isinstance(source, str) else source
    if isinstance(source, str):
        check_template_source(source)
    inputs, timestamp = compile_inputs(data, at)
    try:
        with _compiler_lock:
            pdf = _compiler().compile(input=raw, sys_inputs=inputs, timestamp=timestamp)
    except Exception as exc:  # typst raises its own error types with the compiler's diagnostics
        raise TemplateError(f"the template does not compile: {str(exc)[:2000]}") from exc
    if not isinstance(pdf, bytes):
        raise TemplateError("the template produced no PDF")
    return pdf


def render_signature_page(data: dict[str, Any]) -> bytes:
    return render(_signature_page_source(), data)


def append_pages(document: bytes, extra: bytes) -> bytes:
    """The document's pages unchanged, followed by ``extra``'s pages."""
    writer = PdfWriter()
    writer.append(PdfReader(io.BytesIO(document)))
    writer.append(PdfReader(io.BytesIO(extra)))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
