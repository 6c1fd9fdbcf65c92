"""CPU of sealing an executed contract: pyHanko's CMS container (old) against ``cms.PreparedSigner`` (new).

Not a test. Both seal the same draft (the default English template with the sample order) with the same
signature page (rendered once here: the page's typst compile is the same in both) and the same signer (a
development CA generated in a temporary directory). Before timing it checks that the two give the same
output: for the same digest the same signed attributes, byte for byte; for the same signed attributes and
signature the same ``ContentInfo``, byte for byte; and both executed copies are intact, trusted, cover the
whole file and read the same text (pypdf). Then old and new are alternated round by round in the same run;
reported: this process's CPU per seal (median of ``--rounds``) and per CMS container alone.

    .venv/bin/python services/contracts/bench/cms_cpu.py --n 30 --rounds 5
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import io
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from pyhanko.sign import signers
from pyhanko.sign.signers.pdf_cms import PdfCMSSignedAttributes
from pypdf import PdfReader
from seal_cpu import signature_page

from backoffice_contracts import service
from backoffice_contracts.documents import pdf, sealing
from backoffice_contracts.documents.cms import PreparedSigner
from backoffice_contracts.documents.pki import SealingIdentity, load_identity
from backoffice_contracts.settings import Settings


def container(signer: signers.Signer, digest: bytes) -> bytes:
    settings = PdfCMSSignedAttributes(signing_time=datetime.now(UTC))
    signed = asyncio.run(signer.async_sign(digest, "sha256", use_pades=True, signed_attr_settings=settings))
    return bytes(signed.dump())


def texts(document: bytes) -> list[str]:
    return [p.extract_text() for p in PdfReader(io.BytesIO(document)).pages]


def check_same(identity: SealingIdentity, prepared: PreparedSigner, draft: bytes, page: bytes) -> None:
    old_signer = identity.signer
    for i in range(3):
        digest = hashlib.sha256(bytes([i])).digest()
        attrs = PdfCMSSignedAttributes(signing_time=datetime.now(UTC))
        old = asyncio.run(old_signer.signed_attrs(digest, "sha256", attr_settings=attrs, use_pades=True))
        new = asyncio.run(prepared.signed_attrs(digest, "sha256", attr_settings=attrs, use_pades=True))
        assert old.dump() == new.dump(), "the signed attributes differ"
        signature = asyncio.run(old_signer.async_sign_raw(old.dump(), "sha256"))
        kwargs = {"digest_algorithm": "sha256", "cms_version": "v1", "signature": signature}
        kwargs |= {"unsigned_attrs": None, "encap_content_info": None}
        old_ci = old_signer._package_signature(signed_attrs=old, **kwargs)
        new_ci = prepared._package_signature(signed_attrs=new, **kwargs)
        assert old_ci.dump() == new_ci.dump(), "the signature containers differ"
    documents = {}
    for name, signer in (("old", old_signer), ("new", prepared)):
        documents[name] = seal(draft, identity, page, signer)
        check = sealing.check_seal(documents[name], identity)
        assert check.intact, (name, check)
        assert check.trusted, (name, check)
        assert check.covers_whole_file, (name, check)
    assert texts(documents["old"]) == texts(documents["new"]), "the executed copies read differently"
    assert len(documents["old"]) == len(documents["new"]), "the executed copies differ in size"


def seal(draft: bytes, identity: SealingIdentity, page: bytes, signer: signers.Signer) -> bytes:
    """``sealing.seal`` with the given signer in place of the identity's prepared one."""
    original = sealing.prepared
    sealing.prepared = lambda _signer: signer  # type: ignore[assignment,return-value]
    try:
        return sealing.seal(draft, identity, reason="Executed contract bench", location="bench", append=page)
    finally:
        sealing.prepared = original


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    settings = Settings(
        environment="development",
        pki_dir=Path(tempfile.mkdtemp(prefix="cms-bench-")),
        database_url="postgresql+asyncpg://bench@127.0.0.1/bench",
        jwt_secret="bench-only-secret-of-sufficient-length",  # noqa: S106 (a throwaway settings object)
    )
    identity = load_identity(settings)
    prepared = sealing.prepared(identity.signer)
    draft = pdf.render(pdf.default_template("en"), service.sample_data("en"))
    page = pdf.render_signature_page(signature_page(1))
    check_same(identity, prepared, draft, page)
    variants: dict[str, tuple[Callable[[], object], Callable[[int], object]]] = {
        "old: pyHanko's CMS": (
            lambda: seal(draft, identity, page, identity.signer),
            lambda i: container(identity.signer, hashlib.sha256(i.to_bytes(4, "big")).digest()),
        ),
        "new: prepared DER": (
            lambda: seal(draft, identity, page, prepared),
            lambda i: container(prepared, hashlib.sha256(i.to_bytes(4, "big")).digest()),
        ),
    }
    seals: dict[str, list[float]] = {name: [] for name in variants}
    containers: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(args.rounds):
        for name, (whole, cms_only) in variants.items():
            started = time.process_time()
            for _ in range(args.n):
                whole()
            seals[name].append((time.process_time() - started) / args.n * 1000)
            started = time.process_time()
            for i in range(args.n):
                cms_only(i)
            containers[name].append((time.process_time() - started) / args.n * 1000)
    load = os.getloadavg()
    print(f"sealing an executed contract, {args.rounds} x {args.n} per variant, alternated; load {load[0]:.2f}")
    for name in variants:
        print(
            f"  {name:22} seal (page added, signed, written) {statistics.median(seals[name]):6.2f} ms"
            f"   CMS container alone {statistics.median(containers[name]):6.2f} ms"
        )
    old, new = variants
    print(
        f"  new/old: seal {statistics.median(seals[new]) / statistics.median(seals[old]):.2f}, "
        f"container {statistics.median(containers[new]) / statistics.median(containers[old]):.2f}"
    )


if __name__ == "__main__":
    main()
