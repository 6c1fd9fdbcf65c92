"""CPU of executing a contract: the old assembly (pypdf merge, then pyHanko with its size estimate) against
the new one (one incremental update of the draft, the signature container's room estimated once per signer).

Not a test. Both paths start from the same draft (the default English template with the sample order) and the
same signer (a development CA generated in a temporary directory); each operation renders the signature page
(a typst compile, as ``Documents.seal_executed`` does), adds it to the draft and seals. Before timing, both
results are checked alike: the seal is intact, trusted and covers the whole file, and the pages read the same
text (pypdf). Then old and new are alternated round by round in the same run, so the machine's load hits both
alike; reported: this process's CPU per operation (median of ``--rounds``), the executed PDF's size.

    .venv/bin/python services/contracts/bench/seal_cpu.py --n 30 --rounds 5
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pypdf import PdfReader

from backoffice_contracts import service
from backoffice_contracts.documents import pdf, sealing
from backoffice_contracts.documents.pki import SealingIdentity, load_identity
from backoffice_contracts.settings import Settings


def signature_page(i: int) -> dict[str, Any]:
    sha = f"{i:064x}"
    signature = {"signer_email": "p@example.com", "role": "procurement", "channel": "api", "signed_at": "2026-11-30"}
    signature |= {"client_ip": "127.0.0.1", "user_agent": "bench/1.0", "document_sha256": sha}
    return {
        "language": "en",
        "contract_id": f"c-{i}",
        "number": f"PR-{i:06d}",
        "document_sha256": sha,
        "signatures": [
            signature | {"party_label": "Buyer", "signer_name": "Paula Procurement"},
            signature | {"party_label": "Vendor", "signer_name": "Vera Vendor"},
        ],
    }


def old_seal(draft: bytes, identity: SealingIdentity, page: dict[str, Any]) -> bytes:
    """As before: pypdf merges draft and page into a new file, pyHanko parses it and estimates the room."""
    combined = pdf.append_pages(draft, pdf.render_signature_page(page))
    writer = IncrementalPdfFileWriter(io.BytesIO(combined), strict=False)
    meta = signers.PdfSignatureMetadata(
        field_name=sealing.SEAL_FIELD,
        subfilter=fields.SigSeedSubFilter.PADES,
        md_algorithm="sha256",
        reason=f"Executed contract {page['contract_id']}",
        location="bench",
    )
    out = io.BytesIO()
    signers.PdfSigner(meta, signer=identity.signer).sign_pdf(writer, output=out)
    return out.getvalue()


def new_seal(draft: bytes, identity: SealingIdentity, page: dict[str, Any]) -> bytes:
    reason = f"Executed contract {page['contract_id']}"
    return sealing.seal(draft, identity, reason=reason, location="bench", append=pdf.render_signature_page(page))


def texts(document: bytes) -> list[str]:
    return [p.extract_text() for p in PdfReader(io.BytesIO(document)).pages]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    settings = Settings(
        environment="development",
        pki_dir=Path(tempfile.mkdtemp(prefix="seal-bench-")),
        database_url="postgresql+asyncpg://bench@127.0.0.1/bench",
        jwt_secret="bench-only-secret-of-sufficient-length",  # noqa: S106 (a throwaway settings object)
    )
    identity = load_identity(settings)
    draft = pdf.render(pdf.default_template("en"), service.sample_data("en"))
    variants: dict[str, Callable[[int], bytes]] = {
        "old: pypdf merge + estimate": lambda i: old_seal(draft, identity, signature_page(i)),
        "new: one incremental update": lambda i: new_seal(draft, identity, signature_page(i)),
    }
    results = {name: fn(0) for name, fn in variants.items()}
    for name, document in results.items():
        check = sealing.check_seal(document, identity)
        assert check.intact, (name, check)
        assert check.trusted, (name, check)
        assert check.covers_whole_file, (name, check)
    old, new = results.values()
    assert texts(old) == texts(new), "the executed copies read differently"
    assert new.startswith(draft), "the new executed copy does not begin with the draft's bytes"
    cpu: dict[str, list[float]] = {name: [] for name in variants}
    for r in range(args.rounds):
        for name, fn in variants.items():
            started = time.process_time()
            for i in range(args.n):
                fn(1 + r * args.n + i)  # another contract id each time: typst memoises equal inputs
            cpu[name].append((time.process_time() - started) / args.n * 1000)
    load = os.getloadavg()
    print(f"executing a contract, {args.rounds} x {args.n} per variant, alternated; load {load[0]:.2f}/{load[1]:.2f}")
    for name in variants:
        print(f"  {name:32} CPU {statistics.median(cpu[name]):7.2f} ms   PDF {len(results[name]):6d} bytes")
    old_name, new_name = variants
    ratio = statistics.median(cpu[new_name]) / statistics.median(cpu[old_name])
    print(f"  new/old CPU {ratio:.2f}")


if __name__ == "__main__":
    main()
