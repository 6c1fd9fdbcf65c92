"""CPU of a seal before and after the tenth round: the signature container packaged by pyHanko (before: pyHanko
0.38 passes the PDF's content type as a dict, which ``cms.PreparedSigner`` took for content of its own), the
metadata prepared twice per write and the signature page's objects scanned one number at a time (before) against
the container from the prepared DER, one preparation and runs of numbers scanned as one token (``pagecopy``).

Not a test. Both start from the same draft (the default English template with the sample order) and the same
signer (a development CA in a temporary directory); each operation seals the draft with a signature page rendered
beforehand (typst, outside the timing: the render is the same in both). Before timing, the results are checked:
both seals are intact, trusted and cover the whole file; the executed copies are the same bytes once the
signature container (``/Contents``), the signing time (``/M``), the modification dates (``/ModDate``, XMP
``ModifyDate``) and the update's random file identifier are blanked; the same container comes out of both
packagings for the same signed attributes and signature. Then old and new alternate round by round (A/B/B/A)
in this process, its heap frozen after the warm-up as a service's is (``gc.freeze``); reported: this thread's
CPU per seal (median of ``--rounds``), the load.

    .venv/bin/python services/contracts/bench/seal_round10_cpu.py --n 30 --rounds 6
"""

from __future__ import annotations

import argparse
import gc
import io
import os
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from asn1crypto import cms as asn1_cms
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader

from backoffice_contracts import service
from backoffice_contracts.documents import cms, pagecopy, pdf, sealing
from backoffice_contracts.documents.pki import SealingIdentity, load_identity
from backoffice_contracts.settings import Settings

sys.path.insert(0, str(Path(__file__).resolve().parent))
from seal_cpu import signature_page


class OldPreparedSigner(cms.PreparedSigner):
    """As before: any ``encap_content_info`` (pyHanko 0.38 passes one for every PDF signature) sent the
    packaging to pyHanko."""

    def _package_signature(self, **kwargs: Any) -> asn1_cms.ContentInfo:  # type: ignore[override]
        if kwargs["encap_content_info"] is not None:
            return super(cms.PreparedSigner, self)._package_signature(**kwargs)  # type: ignore[no-any-return]
        return super()._package_signature(**kwargs)


_NEVER = re.compile(rb"(?!)")


def sealer(*, old: bool, identity: SealingIdentity) -> Callable[[bytes, bytes, str], bytes]:
    signer = OldPreparedSigner(identity.signer) if old else sealing.prepared(identity.signer)
    writer = IncrementalPdfFileWriter if old else sealing._UpdateWriter
    numbers = _NEVER if old else pagecopy._NUMBERS  # before: no runs, every number and space a token of its own

    def seal(draft: bytes, page: bytes, reason: str) -> bytes:
        saved = sealing.prepared, sealing._UpdateWriter, pagecopy._NUMBERS
        sealing.prepared = lambda _signer: signer  # type: ignore[assignment]
        sealing._UpdateWriter = writer  # type: ignore[misc]
        pagecopy._NUMBERS = numbers
        try:
            return sealing.seal(draft, identity, reason=reason, location="bench", append=page)
        finally:
            sealing.prepared, sealing._UpdateWriter, pagecopy._NUMBERS = saved  # type: ignore[misc]

    return seal


_VARYING = [
    re.compile(rb"/Contents <[0-9a-fA-F]+>"),
    re.compile(rb"/M \(D[^)]*\)"),
    re.compile(rb"/ModDate \(D[^)]*\)"),
    re.compile(rb'xmp:ModifyDate="[^"]*"'),
    re.compile(rb"(?<=> )<[0-9a-f]{32}> \]"),  # the update's own file identifier (random, pyHanko's)
]


def blanked(document: bytes) -> bytes:
    for pattern in _VARYING:
        document = pattern.sub(lambda m: b"#" * len(m.group(0)), document)
    return document


def xmp_of(document: bytes) -> bytes:
    reader = PdfFileReader(io.BytesIO(document), strict=False)
    return bytes(reader.root["/Metadata"].data)


def check_alike(identity: SealingIdentity, draft: bytes, page: bytes, old: bytes, new: bytes) -> None:
    for name, document in (("old", old), ("new", new)):
        check = sealing.check_seal(document, identity)
        assert check.intact, (name, check)
        assert check.trusted, (name, check)
        assert check.covers_whole_file, (name, check)
        assert document.startswith(draft), name
    assert len(old) == len(new), (len(old), len(new))
    assert blanked(old) == blanked(new), "the executed copies differ beyond the container and the dates"
    assert b"ModifyDate" in xmp_of(new), "the XMP update is missing"
    assert b"pyHanko" in xmp_of(new), "the XMP update is missing"
    # The containers: the new packaging gives pyHanko's bytes for the same attributes and signature.
    reader = PdfFileReader(io.BytesIO(new), strict=False)
    container = reader.embedded_signatures[-1].signed_data
    info = container["signer_infos"][0]
    kwargs: dict[str, Any] = {"digest_algorithm": "sha256", "cms_version": "v1", "unsigned_attrs": None}
    kwargs |= {"signed_attrs": info["signed_attrs"].untag(), "signature": info["signature"].native}
    kwargs["encap_content_info"] = {"content_type": "data"}
    prepared = sealing.prepared(identity.signer)
    ours = prepared._package_signature(**kwargs).dump()
    theirs = super(cms.PreparedSigner, prepared)._package_signature(**kwargs).dump()
    assert ours == theirs, "the prepared container is not pyHanko's"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args()
    settings = Settings(
        environment="development",
        pki_dir=Path(tempfile.mkdtemp(prefix="seal-bench-")),
        database_url="postgresql+asyncpg://bench@127.0.0.1/bench",
        jwt_secret="bench-only-secret-of-sufficient-length",  # noqa: S106 (a throwaway settings object)
    )
    identity = load_identity(settings)
    draft = pdf.render(pdf.default_template("en"), service.sample_data("en"))
    total = 2 * args.rounds * args.n + 10
    pages = [pdf.render_signature_page(signature_page(i)) for i in range(total)]
    variants = {"old": sealer(old=True, identity=identity), "new": sealer(old=False, identity=identity)}
    old, new = (fn(draft, pages[0], "Executed contract c-0") for fn in variants.values())
    check_alike(identity, draft, pages[0], old, new)
    for i in range(1, 5):
        for fn in variants.values():
            fn(draft, pages[i], f"Executed contract c-{i}")
    gc.collect()
    gc.freeze()
    cpu: dict[str, list[float]] = {name: [] for name in variants}
    load_before = os.getloadavg()[0]
    k = 10
    for r in range(args.rounds):
        order = list(variants) if r % 2 == 0 else list(reversed(variants))
        for name in order:
            fn = variants[name]
            started = time.thread_time()
            for _ in range(args.n):
                fn(draft, pages[k], f"Executed contract c-{k}")
                k += 1
            cpu[name].append((time.thread_time() - started) / args.n * 1000)
    load_after = os.getloadavg()[0]
    print(f"a seal, {args.rounds} x {args.n} per variant, alternated; load {load_before:.2f} -> {load_after:.2f}")
    for name in variants:
        print(f"  {name:4} CPU {statistics.median(cpu[name]):6.2f} ms   rounds {[round(x, 2) for x in cpu[name]]}")
    print(f"  new/old {statistics.median(cpu['new']) / statistics.median(cpu['old']):.3f}")


if __name__ == "__main__":
    main()
