"""PAdES sealing of executed contracts with pyHanko, and verification of uploaded PDFs.

An executed contract is the draft's bytes unchanged, then one incremental update that adds the signature
page and the seal: the draft is parsed once (by pyHanko), the signature page's objects are copied into the update
as bytes, renumbered (``pagecopy``; pyHanko's import of them, parsed and serialised again, for a PDF it does
not handle; no pypdf merge and re-parse of the merged file), and the room reserved for the signature container is
estimated once per signer (pyHanko would sign a dummy container for the estimate before every seal), and
the signature container is assembled from DER prepared once per signer (``cms.PreparedSigner``).
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import re
import threading
import weakref
from datetime import UTC, datetime
from typing import Any

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.signers.pdf_cms import PdfCMSSignedAttributes
from pyhanko.sign.validation import SignatureCoverageLevel, validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from backoffice_contracts.documents import pagecopy
from backoffice_contracts.documents.cms import PreparedSigner
from backoffice_contracts.documents.pki import SealingIdentity
from backoffice_contracts.domain.errors import NotAPdf
from backoffice_contracts.domain.verification import SealCheck

SEAL_FIELD = "ContractSeal"


# A page's attributes it may inherit from its page tree (ISO 32000-1, 7.7.3.4).
_INHERITED = ("/Resources", "/MediaBox", "/CropBox", "/Rotate")
# Not carried into the other document: its place in the page tree, and its key in the source's structure
# tree (the executed copy keeps the draft's structure tree; the appended page is untagged there).
_LEFT_OUT = ("/Parent", "/StructParents")


def seal(pdf: bytes, identity: SealingIdentity, *, reason: str, location: str, append: bytes | None = None) -> bytes:
    """``pdf`` unchanged, then one incremental update adding ``append``'s pages (if given) and the seal."""
    writer = _UpdateWriter(io.BytesIO(pdf), strict=False)
    if append is not None:
        try:
            pagecopy.append_pages(writer, append)  # typst's plain PDF: its objects copied as bytes
        except pagecopy.Unsupported:
            import_pages(writer, PdfFileReader(io.BytesIO(append), strict=False))
    meta = signers.PdfSignatureMetadata(
        field_name=SEAL_FIELD,
        subfilter=fields.SigSeedSubFilter.PADES,
        md_algorithm="sha256",
        reason=reason,
        location=location,
    )
    out = io.BytesIO()
    signers.PdfSigner(meta, signer=prepared(identity.signer)).sign_pdf(
        writer, output=out, bytes_reserved=reserved_bytes(identity.signer)
    )
    return out.getvalue()


class _UpdateWriter(IncrementalPdfFileWriter):
    """pyHanko's incremental writer, preparing the update's objects once per write.

    ``IncrementalPdfFileWriter.write`` prepares them, then calls the base class's ``write``, which prepares them
    again: the document's metadata (the ``/Info`` dictionary and the XMP packet, parsed, given the modification
    date and producer, serialised) written twice with the same values, about 0.5 ms of a seal's 6.
    """

    _preparing_done = False

    def write(self, stream: Any) -> None:
        try:
            super().write(stream)  # type: ignore[no-untyped-call]
        finally:
            self._preparing_done = False

    def write_in_place(self) -> None:
        try:
            super().write_in_place()  # type: ignore[no-untyped-call]
        finally:
            self._preparing_done = False

    def _prep_dom_for_writing(self) -> None:
        if not self._preparing_done:
            self._preparing_done = True
            super()._prep_dom_for_writing()  # type: ignore[no-untyped-call]


_prepared: weakref.WeakKeyDictionary[signers.Signer, PreparedSigner] = weakref.WeakKeyDictionary()


def prepared(signer: signers.Signer) -> PreparedSigner:
    """``signer`` with its CMS structures prepared once and reused by every seal (``cms.PreparedSigner``)."""
    with _reserved_lock:
        found = _prepared.get(signer)
        if found is None:
            found = _prepared[signer] = PreparedSigner(signer)
        return found


def import_pages(writer: IncrementalPdfFileWriter, source: PdfFileReader) -> None:
    """Each page of ``source`` after the last page of ``writer``'s document, its resources imported once by
    pyHanko (parsed and serialised again): for a PDF ``pagecopy`` does not copy as bytes."""
    copies = generic.ArrayObject()
    for index in range(int(source.root["/Pages"]["/Count"])):
        page_ref, _ = source.find_page_for_modification(index)  # type: ignore[no-untyped-call]
        page = page_ref.get_object()
        copy = generic.DictionaryObject({k: v for k, v in page.items() if k not in _LEFT_OUT})  # type: ignore[no-untyped-call]
        for key in _INHERITED:
            if key not in copy and (value := _inherited(page, key)) is not None:
                copy[generic.NameObject(key)] = value
        copies.append(copy)
    copies.container_ref = page_ref  # the source the references in the copies resolve against
    imported: Any = writer.import_object(copies)  # one import: the pages share their fonts and resources
    for new_page in imported:
        writer.insert_page(new_page)  # type: ignore[no-untyped-call]


def _inherited(page: generic.DictionaryObject, key: str) -> Any:
    node = page.get("/Parent")
    while node is not None:
        node = node.get_object()
        if key in node:
            return node.raw_get(key)
        node = node.get("/Parent")
    return None


_reserved: weakref.WeakKeyDictionary[signers.Signer, int] = weakref.WeakKeyDictionary()
_reserved_lock = threading.Lock()


def reserved_bytes(signer: signers.Signer) -> int:
    """Room for ``signer``'s signature container in the PDF (hex digits), estimated once per signer.

    The estimate pyHanko makes before every seal when none is given: a dry-run container (no key used,
    no timestamp) dumped, times two for hex, plus a margin of half; the same key and certificates give
    the same size to within a few bytes."""
    with _reserved_lock:
        known = _reserved.get(signer)
    if known is not None:
        return known
    dummy = asyncio.run(
        signer.async_sign(
            hashlib.sha256(b"").digest(),
            "sha256",
            use_pades=True,
            dry_run=True,
            signed_attr_settings=PdfCMSSignedAttributes(signing_time=datetime.now(UTC)),
        )
    )
    size = len(dummy.dump()) * 2
    size += 2 * (size // 4)
    with _reserved_lock:
        _reserved[signer] = size
    return size


_SIGNED_RANGE = re.compile(rb"/ByteRange\s*\[")


def check_seal(pdf: bytes, identity: SealingIdentity) -> SealCheck:
    """Whether ``pdf`` carries a signature that is intact, chains to our roots and covers the whole file."""
    if not pdf.lstrip()[:5] == b"%PDF-":
        raise NotAPdf("the upload is not a PDF (it does not start with %PDF-)")
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        signatures = reader.embedded_signatures
    except Exception as exc:  # pyHanko raises several error types for malformed files
        if _SIGNED_RANGE.search(pdf):
            # A signed PDF that no longer parses was changed after it was signed (the signature covers
            # every byte of the structure it needs): a damaged seal, not an unreadable upload.
            return SealCheck(True, False, False, False, None)
        raise NotAPdf(f"the PDF cannot be read: {str(exc)[:300]}") from exc
    if not signatures:
        return SealCheck(False, False, False, False, None)
    context = ValidationContext(trust_roots=identity.trust_roots, allow_fetching=False, revocation_mode="soft-fail")
    try:
        status = validate_pdf_signature(signatures[-1], context)
    except Exception:
        return SealCheck(True, False, False, False, None)
    return SealCheck(
        signed=True,
        intact=bool(status.intact and status.valid),
        trusted=bool(status.trusted),
        covers_whole_file=status.coverage == SignatureCoverageLevel.ENTIRE_FILE,
        signer_subject=status.signing_cert.subject.human_friendly,
    )
