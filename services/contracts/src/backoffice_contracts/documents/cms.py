"""The seal's CMS container from DER prepared once per signer, byte for byte what pyHanko builds.

pyHanko builds the signed attributes and the ``SignedData`` of every signature as new asn1crypto
objects; asn1crypto re-encodes a newly built structure each time one of its levels asks for its
contents, which costs more as the structure nests: about 14 ms of CPU per seal with one certificate,
where the signature itself (ECDSA) is 0.1 ms. Of all that only the message digest and the signature
change from one seal to the next; the rest (the content type, the signing certificate attribute, the
certificates, the signer's identifier and algorithms) depends on the signer alone.

``PreparedSigner`` wraps any pyHanko signer (a key file's ``SimpleSigner``, an HSM's ``PKCS11Signer``:
it signs with the wrapped signer) and builds those two structures from DER pieces taken, the first time,
from pyHanko's own output. Each kind of structure is checked once against pyHanko's: when pyHanko builds
something that does not split this way (a timestamp, CAdES or revocation attributes, attribute
certificates, other content), that kind stays with pyHanko.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from asn1crypto import cms, x509
from pyhanko.sign import signers
from pyhanko.sign.signers.pdf_cms import PdfCMSSignedAttributes
from pyhanko_certvalidator.registry import CertificateStore

__all__ = ["PreparedSigner"]

_MESSAGE_DIGEST = "message_digest"
_PDF_CONTENT = {"content_type": "data"}


def der(tag: int, content: bytes) -> bytes:
    """One DER TLV: the tag byte, the definite length, the content."""
    size = len(content)
    if size < 0x80:
        return bytes((tag, size)) + content
    length = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes((tag, 0x80 | len(length))) + length + content


class _Attributes:
    """The signed attributes of one digest algorithm: every attribute but the message digest, as DER."""

    def __init__(self, fixed: list[bytes], digest_type: bytes) -> None:
        self.fixed = fixed
        self.digest_type = digest_type

    def build(self, data_digest: bytes) -> bytes:
        digest = der(0x30, self.digest_type + der(0x31, der(0x04, data_digest)))
        return der(0x31, b"".join(sorted([*self.fixed, digest])))  # a DER SET OF: its elements sorted

    @classmethod
    def of(cls, template: cms.CMSAttributes) -> _Attributes:
        fixed = [attr.dump() for attr in template if attr["type"].native != _MESSAGE_DIGEST]
        digest_type = next(attr["type"].dump() for attr in template if attr["type"].native == _MESSAGE_DIGEST)
        return cls(fixed, digest_type)


class _Package:
    """A ``SignedData`` with one signer: everything but the signed attributes and the signature, as DER."""

    def __init__(self, content_info: cms.ContentInfo) -> None:
        self.content_type = content_info["content_type"].dump()
        data = content_info["content"]
        info = data["signer_infos"][0]
        self.head = b"".join(data[k].dump() for k in ("version", "digest_algorithms", "encap_content_info"))
        self.certificates = data["certificates"].dump()  # b"" when there are none
        self.info_head = b"".join(info[k].dump() for k in ("version", "sid", "digest_algorithm"))
        self.signature_algorithm = info["signature_algorithm"].dump()

    def build(self, signed_attrs: bytes, signature: bytes) -> bytes:
        # The signed attributes are a SET OF; in the SignerInfo they carry the implicit tag [0].
        attrs = b"\xa0" + signed_attrs[1:]
        info = der(0x30, self.info_head + attrs + self.signature_algorithm + der(0x04, signature))
        data = der(0x30, self.head + self.certificates + der(0x31, info))
        return der(0x30, self.content_type + der(0xA0, data))


class PreparedSigner(signers.Signer):
    """``inner`` with its CMS structures assembled from DER prepared once (see the module)."""

    def __init__(self, inner: signers.Signer) -> None:
        super().__init__(prefer_pss=inner.prefer_pss, embed_roots=inner.embed_roots)
        self.inner = inner
        self.signed_attr_prov_spec = inner.signed_attr_prov_spec
        self.unsigned_attr_prov_spec = inner.unsigned_attr_prov_spec
        self._lock = threading.Lock()
        self._attributes: dict[str, _Attributes | None] = {}
        self._packages: dict[tuple[str, str], _Package | None] = {}

    @property
    def signature_mechanism(self) -> Any:
        return self.inner.signature_mechanism

    @property
    def signing_cert(self) -> x509.Certificate | None:
        return self.inner.signing_cert

    @property
    def cert_registry(self) -> CertificateStore:
        return self.inner.cert_registry

    @property
    def attribute_certs(self) -> Iterable[cms.AttributeCertificateV2]:
        return self.inner.attribute_certs

    def get_signature_mechanism_for_digest(self, digest_algorithm: str | None) -> Any:
        return self.inner.get_signature_mechanism_for_digest(digest_algorithm)

    async def async_sign_raw(self, data: bytes, digest_algorithm: str, dry_run: bool = False) -> bytes:
        return await self.inner.async_sign_raw(data, digest_algorithm, dry_run)

    async def signed_attrs(  # type: ignore[no-untyped-def]
        self,
        data_digest: bytes,
        digest_algorithm: str,
        attr_settings: PdfCMSSignedAttributes | None = None,
        content_type="data",
        use_pades=False,
        timestamper=None,
        dry_run=False,
        is_pdf_sig=True,
    ) -> cms.CMSAttributes:
        settings = attr_settings or PdfCMSSignedAttributes()
        given = (data_digest, digest_algorithm, settings, content_type, use_pades, timestamper, dry_run, is_pdf_sig)
        plain = (
            use_pades
            and is_pdf_sig
            and timestamper is None
            and content_type == "data"
            and settings.cades_signed_attrs is None
            and settings.adobe_revinfo_attr is None
            and self.signed_attr_prov_spec is None
        )
        if not plain:
            return await self._pyhanko_attrs(*given)
        with self._lock:
            known = digest_algorithm in self._attributes
            prepared = self._attributes.get(digest_algorithm)
        if not known:
            prepared = await self._prepare_attributes(digest_algorithm, settings)
        if prepared is None:
            return await self._pyhanko_attrs(*given)
        return cms.CMSAttributes.load(prepared.build(data_digest))

    async def _pyhanko_attrs(self, *args: Any) -> cms.CMSAttributes:
        data_digest, digest_algorithm, settings, content_type, use_pades, timestamper, dry_run, is_pdf_sig = args
        attrs: cms.CMSAttributes = await super().signed_attrs(
            data_digest,
            digest_algorithm,
            attr_settings=settings,
            content_type=content_type,
            use_pades=use_pades,
            timestamper=timestamper,
            dry_run=dry_run,
            is_pdf_sig=is_pdf_sig,
        )
        return attrs

    async def _prepare_attributes(self, digest_algorithm: str, settings: PdfCMSSignedAttributes) -> _Attributes | None:
        """Through pyHanko with two digests and two signing times (what varies between seals): prepared only
        if the DER built from the first gives pyHanko's bytes for both."""
        digests = [hashlib.new(digest_algorithm, bytes([i])).digest() for i in (1, 2)]
        times = [settings.signing_time or datetime.now(UTC), datetime(2001, 2, 3, 4, 5, 6, tzinfo=UTC)]
        built = [
            await self._pyhanko_attrs(
                digest, digest_algorithm, PdfCMSSignedAttributes(signing_time=at), "data", True, None, False, True
            )
            for digest, at in zip(digests, times, strict=True)
        ]
        prepared: _Attributes | None = _Attributes.of(built[0])
        if any(_Attributes.of(built[0]).build(d) != b.dump() for d, b in zip(digests, built, strict=True)):
            prepared = None
        with self._lock:
            self._attributes[digest_algorithm] = prepared
        return prepared

    def _package_signature(  # type: ignore[no-untyped-def]
        self,
        *,
        digest_algorithm: str,
        cms_version,
        signed_attrs: cms.CMSAttributes,
        signature: bytes,
        unsigned_attrs: cms.CMSAttributes,
        encap_content_info,
    ) -> cms.ContentInfo:
        def pyhanko() -> cms.ContentInfo:
            packaged: cms.ContentInfo = super(PreparedSigner, self)._package_signature(
                digest_algorithm=digest_algorithm,
                cms_version=cms_version,
                signed_attrs=signed_attrs,
                signature=signature,
                unsigned_attrs=unsigned_attrs,
                encap_content_info=encap_content_info,
            )
            return packaged

        # pyHanko (0.38) passes the PDF signature's content as ``{"content_type": "data"}``, older versions None
        plain_content = encap_content_info is None or (
            isinstance(encap_content_info, dict) and encap_content_info == _PDF_CONTENT
        )
        if unsigned_attrs is not None or not plain_content or not isinstance(cms_version, str):
            return pyhanko()
        key = (digest_algorithm, cms_version)
        with self._lock:
            known = key in self._packages
            prepared = self._packages.get(key)
        if not known:
            reference = pyhanko().dump()
            prepared = _Package(cms.ContentInfo.load(reference))
            if prepared.build(signed_attrs.dump(), signature) != reference:
                prepared = None
            with self._lock:
                self._packages[key] = prepared
        if prepared is None:
            return pyhanko()
        return cms.ContentInfo.load(prepared.build(signed_attrs.dump(), signature))
