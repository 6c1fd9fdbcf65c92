"""CPU of executing a contract with the signature page imported by pyHanko (before) against the page's objects
copied as bytes (``documents.pagecopy``, after).

Not a test. Both start from the same draft (the default English template with the sample order) and signer (a
development CA in a temporary directory); each operation renders the signature page (typst, as
``Documents.seal_executed`` does), adds it to the draft's incremental update and seals. Before timing, both
results are checked alike: the seal is intact, trusted and whole-file, the executed copy begins with the draft,
the last page is the same object for object (resolved, streams decoded), and the pages read the same text.
Then old and new alternate round by round; reported: this process's CPU per operation (median of ``--rounds``),
the executed PDF's size, the load average.

    .venv/bin/python services/contracts/bench/page_copy_cpu.py --n 30 --rounds 5
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pypdf import PdfReader

from backoffice_contracts import service
from backoffice_contracts.documents import pdf, sealing
from backoffice_contracts.documents.pki import SealingIdentity, load_identity
from backoffice_contracts.settings import Settings

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "integration"))
from test_signature_page_copy import last_page

sys.path.insert(0, str(Path(__file__).resolve().parent))
from seal_cpu import signature_page


def old_seal(draft: bytes, identity: SealingIdentity, page: dict[str, Any]) -> bytes:
    """As before: ``sealing.seal`` with the page imported by pyHanko (``import_object``)."""
    writer = IncrementalPdfFileWriter(io.BytesIO(draft), strict=False)
    sealing.import_pages(writer, PdfFileReader(io.BytesIO(pdf.render_signature_page(page)), strict=False))
    meta = signers.PdfSignatureMetadata(
        field_name=sealing.SEAL_FIELD,
        subfilter=fields.SigSeedSubFilter.PADES,
        md_algorithm="sha256",
        reason=f"Executed contract {page['contract_id']}",
        location="bench",
    )
    out = io.BytesIO()
    signers.PdfSigner(meta, signer=sealing.prepared(identity.signer)).sign_pdf(
        writer, output=out, bytes_reserved=sealing.reserved_bytes(identity.signer)
    )
    return out.getvalue()


def new_seal(draft: bytes, identity: SealingIdentity, page: dict[str, Any]) -> bytes:
    reason = f"Executed contract {page['contract_id']}"
    return sealing.seal(draft, identity, reason=reason, location="bench", append=pdf.render_signature_page(page))


def texts(document: bytes) -> list[str]:
    return [p.extract_text() for p in PdfReader(io.BytesIO(document), strict=True).pages]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    settings = Settings(
        environment="development",
        pki_dir=Path(tempfile.mkdtemp(prefix="page-copy-bench-")),
        database_url="postgresql+asyncpg://bench@127.0.0.1/bench",
        jwt_secret="bench-only-secret-of-sufficient-length",  # noqa: S106 (a throwaway settings object)
    )
    identity = load_identity(settings)
    draft = pdf.render(pdf.default_template("en"), service.sample_data("en"))
    variants: dict[str, Callable[[int], bytes]] = {
        "old: page imported by pyHanko": lambda i: old_seal(draft, identity, signature_page(i)),
        "new: page copied as bytes": lambda i: new_seal(draft, identity, signature_page(i)),
    }
    results = {name: fn(0) for name, fn in variants.items()}
    for name, document in results.items():
        check = sealing.check_seal(document, identity)
        assert check.intact, (name, check)
        assert check.trusted, (name, check)
        assert check.covers_whole_file, (name, check)
        assert document.startswith(draft), name
    old, new = results.values()
    assert last_page(old) == last_page(new), "the signature pages differ"
    assert texts(old) == texts(new), "the executed copies read differently"
    cpu: dict[str, list[float]] = {name: [] for name in variants}
    load_before = os.getloadavg()[0]
    for r in range(args.rounds):
        for name, fn in variants.items():
            started = time.process_time()
            for i in range(args.n):
                fn(1 + r * args.n + i)  # another contract id each time: typst memoises equal inputs
            cpu[name].append((time.process_time() - started) / args.n * 1000)
    load = os.getloadavg()[0]
    print(
        f"executing a contract, {args.rounds} x {args.n} per variant, alternated; load {load_before:.2f} -> {load:.2f}"
    )
    for name in variants:
        print(f"  {name:32} CPU {statistics.median(cpu[name]):7.2f} ms   PDF {len(results[name]):6d} bytes")
    old_name, new_name = variants
    print(f"  new/old CPU {statistics.median(cpu[new_name]) / statistics.median(cpu[old_name]):.2f}")


if __name__ == "__main__":
    main()
