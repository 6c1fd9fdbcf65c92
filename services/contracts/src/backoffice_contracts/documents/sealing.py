"""PAdES sealing of executed contracts with pyHanko, and verification of uploaded PDFs."""

from __future__ import annotations

import io

from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.validation import SignatureCoverageLevel, validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from backoffice_contracts.documents.pki import SealingIdentity
from backoffice_contracts.domain.errors import NotAPdf
from backoffice_contracts.domain.verification import SealCheck

SEAL_FIELD = "ContractSeal"


def seal(pdf: bytes, identity: SealingIdentity, *, reason: str, location: str) -> bytes:
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    meta = signers.PdfSignatureMetadata(
        field_name=SEAL_FIELD,
        subfilter=fields.SigSeedSubFilter.PADES,
        md_algorithm="sha256",
        reason=reason,
        location=location,
    )
    out = io.BytesIO()
    signers.PdfSigner(meta, signer=identity.signer).sign_pdf(writer, output=out)
    return out.getvalue()


def check_seal(pdf: bytes, identity: SealingIdentity) -> SealCheck:
    """Whether ``pdf`` carries a signature that is intact, chains to our roots and covers the whole file."""
    if not pdf.lstrip()[:5] == b"%PDF-":
        raise NotAPdf("the upload is not a PDF (it does not start with %PDF-)")
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        signatures = reader.embedded_signatures
    except Exception as exc:  # pyHanko raises several error types for malformed files
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
