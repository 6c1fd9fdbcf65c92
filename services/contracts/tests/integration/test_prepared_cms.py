"""The seal's CMS container from DER prepared once per signer (``cms.PreparedSigner``): byte for byte what
pyHanko builds, a valid seal, pyHanko's own path for what it does not prepare (a development CA in a
temporary directory; pyHanko and typst for real)."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from asn1crypto import cms
from pyhanko.sign import signers
from pyhanko.sign.ades.api import CAdESSignedAttrSpec, GenericCommitment
from pyhanko.sign.signers.pdf_cms import PdfCMSSignedAttributes

from backoffice_contracts import service
from backoffice_contracts.documents import pdf, sealing
from backoffice_contracts.documents.cms import PreparedSigner
from backoffice_contracts.documents.pki import SealingIdentity, load_identity
from backoffice_contracts.settings import Settings


@pytest.fixture(scope="module")
def identity(tmp_path_factory: pytest.TempPathFactory) -> SealingIdentity:
    return load_identity(
        Settings(
            environment="development",
            pki_dir=Path(tmp_path_factory.mktemp("pki")),
            database_url="postgresql+asyncpg://unused@127.0.0.1/unused",
            jwt_secret="test-only-secret-of-sufficient-length",
        )
    )


def attrs_of(signer: signers.Signer, digest: bytes, **settings: Any) -> bytes:
    chosen = PdfCMSSignedAttributes(signing_time=datetime.now(UTC), **settings)
    built = asyncio.run(signer.signed_attrs(digest, "sha256", attr_settings=chosen, use_pades=True))
    return bytes(built.dump())


def test_the_signed_attributes_and_the_container_are_pyhankos_byte_for_byte(identity: SealingIdentity) -> None:
    prepared = PreparedSigner(identity.signer)
    for i in range(3):
        digest = hashlib.sha256(bytes([i])).digest()
        ours = attrs_of(prepared, digest)
        assert ours == attrs_of(identity.signer, digest)
        assert digest in ours
        signature = asyncio.run(identity.signer.async_sign_raw(ours, "sha256"))
        kwargs: dict[str, Any] = {"digest_algorithm": "sha256", "cms_version": "v1", "signature": signature}
        kwargs |= {"signed_attrs": cms.CMSAttributes.load(ours), "unsigned_attrs": None, "encap_content_info": None}
        assert prepared._package_signature(**kwargs).dump() == identity.signer._package_signature(**kwargs).dump()


def test_a_seal_through_the_prepared_signer_holds_and_pyhanko_builds_the_attributes_once(
    identity: SealingIdentity, monkeypatch: pytest.MonkeyPatch
) -> None:
    draft = pdf.render(pdf.default_template("en"), service.sample_data("en"))
    calls: list[bytes] = []
    original = signers.Signer.signed_attrs

    async def counted(self: signers.Signer, data_digest: bytes, *args: Any, **kwargs: Any) -> Any:
        calls.append(data_digest)
        return await original(self, data_digest, *args, **kwargs)

    monkeypatch.setattr(signers.Signer, "signed_attrs", counted)
    prepared = sealing.prepared(identity.signer)
    assert sealing.prepared(identity.signer) is prepared  # kept per signer
    after_first = 0
    for n in range(3):
        executed = sealing.seal(draft, identity, reason=f"seal {n}", location="test")
        check = sealing.check_seal(executed, identity)
        assert check.intact, check
        assert check.trusted, check
        assert check.covers_whole_file, check
        after_first = after_first or len(calls)
    # The first seal prepares (pyHanko builds the attributes twice to compare; the room's estimate once);
    # the later seals build none through pyHanko.
    assert 2 <= after_first == len(calls)


def test_what_is_not_prepared_goes_through_pyhanko(identity: SealingIdentity) -> None:
    prepared = PreparedSigner(identity.signer)
    digest = hashlib.sha256(b"cades").digest()
    cades = CAdESSignedAttrSpec(commitment_type=GenericCommitment.PROOF_OF_APPROVAL.asn1)
    ours = attrs_of(prepared, digest, cades_signed_attrs=cades)
    assert ours == attrs_of(identity.signer, digest, cades_signed_attrs=cades)
    assert len(cms.CMSAttributes.load(ours)) == 4  # the commitment type is there
    assert prepared._attributes == {}  # nothing prepared for it

    signature = asyncio.run(identity.signer.async_sign_raw(ours, "sha256"))
    unsigned = cms.CMSAttributes([cms.CMSAttribute({"type": "signing_time", "values": [cms.Time({"utc_time": datetime.now(UTC)})]})])  # fmt: skip
    kwargs: dict[str, Any] = {"digest_algorithm": "sha256", "cms_version": "v1", "signature": signature}
    kwargs |= {"signed_attrs": cms.CMSAttributes.load(ours), "unsigned_attrs": unsigned, "encap_content_info": None}
    assert prepared._package_signature(**kwargs).dump() == identity.signer._package_signature(**kwargs).dump()
    assert prepared._packages == {}


def test_a_seal_packages_its_container_from_the_prepared_der_after_the_first(
    identity: SealingIdentity, monkeypatch: pytest.MonkeyPatch
) -> None:
    draft = pdf.render(pdf.default_template("en"), service.sample_data("en"))
    packaged: list[object] = []
    original = signers.Signer._package_signature

    def counted(self: signers.Signer, **kwargs: Any) -> Any:
        packaged.append(kwargs["encap_content_info"])
        return original(self, **kwargs)

    monkeypatch.setattr(signers.Signer, "_package_signature", counted)
    sealing.seal(draft, identity, reason="warm", location="test")  # prepares the package if it was not yet
    packaged.clear()
    for n in range(3):
        executed = sealing.seal(draft, identity, reason=f"seal {n}", location="test")
        check = sealing.check_seal(executed, identity)
        assert check.intact, check
        assert check.trusted, check
        assert check.covers_whole_file, check
    assert packaged == []  # pyHanko packaged none of the three (it passes {"content_type": "data"} since 0.38)
