"""The executed contract as the document adapter builds it: the draft's bytes, then one incremental update
with the signature page and the seal (typst and pyHanko for real, a development CA in a temporary directory)."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from pypdf import PdfReader

from backoffice_contracts import service
from backoffice_contracts.documents import Documents, pdf, sealing
from backoffice_contracts.settings import Settings


@pytest.fixture(scope="module")
def documents(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Documents]:
    settings = Settings(
        environment="development",
        pki_dir=Path(tmp_path_factory.mktemp("pki")),
        database_url="postgresql+asyncpg://unused@127.0.0.1/unused",
        jwt_secret="test-only-secret-of-sufficient-length",
    )
    adapter = Documents(settings)
    yield adapter
    adapter.close()


def signature_page(contract_id: str) -> dict[str, object]:
    sha = "ab" * 32
    signature = {"role": "procurement", "channel": "api", "signed_at": "2026-11-30T07:00:00+00:00"}
    signature |= {"client_ip": "127.0.0.1", "user_agent": "portal/1.0", "document_sha256": sha}
    return {
        "language": "de",
        "contract_id": contract_id,
        "number": "PR-000042",
        "document_sha256": sha,
        "signatures": [
            signature | {"party_label": "Käufer", "signer_name": "Paula Procurement", "signer_email": "p@buyer.test"},
            signature | {"party_label": "Lieferant", "signer_name": "Vera Vendor", "signer_email": "v@vendor.test"},
        ],
    }


def test_the_executed_copy_is_the_draft_byte_for_byte_then_the_signature_page_under_a_whole_file_seal(
    documents: Documents,
) -> None:
    draft = pdf.render(pdf.default_template("de"), service.sample_data("de"))
    executed = documents.seal_executed(draft, signature_page("c-42"))

    assert executed.startswith(draft)
    pages = PdfReader(io.BytesIO(executed)).pages
    assert len(pages) == len(PdfReader(io.BytesIO(draft)).pages) + 1
    last = pages[-1].extract_text()
    assert "Unterschriftenseite" in last
    assert "Vera Vendor" in last
    assert "Paula Procurement" in last
    check = documents.check_seal(executed)
    assert (check.signed, check.intact, check.trusted, check.covers_whole_file) == (True, True, True, True)

    tampered = bytearray(executed)
    tampered[len(draft) // 2] ^= 0x01  # one byte of the draft's part
    assert not documents.check_seal(bytes(tampered)).intact


def test_the_room_for_the_signature_is_estimated_once_per_signer_and_holds_every_later_seal(
    documents: Documents,
) -> None:
    signer = documents.identity().signer
    first = sealing.reserved_bytes(signer)
    assert sealing.reserved_bytes(signer) == first
    draft = pdf.render(pdf.default_template("en"), service.sample_data("en"))
    for n in range(3):
        executed = documents.seal_executed(draft, signature_page(f"c-{n}"))
        assert documents.check_seal(executed).intact


def test_one_changed_byte_anywhere_in_an_executed_copy_is_a_broken_seal_never_an_unreadable_upload(
    documents: Documents,
) -> None:
    """A flipped byte may land in the draft's streams, its cross-reference table, the signature page or
    the seal itself; some of those leave a PDF pyHanko cannot parse. A signed PDF that no longer parses
    was changed after it was signed, so verification reports a seal that is not intact (200), not a
    415 'cannot be read' that would depend on where the byte fell (the e2e happy path flips the middle
    byte, which sometimes fell where parsing failed)."""
    draft = pdf.render(pdf.default_template("en"), service.sample_data("en"))
    executed = documents.seal_executed(draft, signature_page("c-flip"))
    # Past the "%PDF-1.x" header: a file that does not start with it is not a PDF at all (415).
    positions = sorted({8 + round(i * (len(executed) - 9) / 47) for i in range(48)} | {len(executed) - 10})
    # The signature container itself (the hex string between the two signed ranges) is the one part a
    # signature cannot cover; its zero padding can change without effect. Every other byte is signed.
    _, first, second, _ = (int(n) for n in re.findall(rb"/ByteRange\s*\[([^\]]*)\]", executed)[-1].split())
    positions = [p for p in positions if not first <= p < second]
    assert len(positions) > 40
    for position in positions:
        tampered = bytearray(executed)
        tampered[position] ^= 0x01
        check = documents.check_seal(bytes(tampered))
        assert check.signed, position
        assert not check.intact, position
