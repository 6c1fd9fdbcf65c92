"""The executed copy's document metadata: what a PDF reader shows after the seal (the information dictionary
and the XMP packet carry the sealing time and pyHanko as producer), written once per seal (a development CA in
a temporary directory; pyHanko and typst for real)."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pyhanko.pdf_utils import writer
from pyhanko.pdf_utils.metadata import model
from pyhanko.pdf_utils.metadata.xmp_xml import parse_xmp
from pyhanko.pdf_utils.reader import PdfFileReader

from backoffice_contracts import service
from backoffice_contracts.documents import pdf, sealing
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


def test_the_executed_copy_says_when_it_was_sealed_and_by_what_and_the_metadata_is_written_once(
    identity: SealingIdentity, monkeypatch: pytest.MonkeyPatch
) -> None:
    draft = pdf.render(pdf.default_template("en"), service.sample_data("en"), at=datetime(2001, 2, 3, tzinfo=UTC))
    updates: list[object] = []
    original = writer.BasePdfFileWriter._update_meta

    def counted(self: Any) -> None:
        updates.append(self)
        original(self)

    monkeypatch.setattr(writer.BasePdfFileWriter, "_update_meta", counted)
    before = datetime.now(UTC).replace(microsecond=0)
    executed = sealing.seal(
        draft,
        identity,
        reason="metadata",
        location="test",
        append=pdf.render_signature_page(
            {"language": "en", "contract_id": "c-1", "number": "PR-1", "document_sha256": "0" * 64, "signatures": []}
        ),
    )
    after = datetime.now(UTC) + timedelta(seconds=1)
    assert len(updates) == 1  # pyHanko's writer prepared it twice per write

    check = sealing.check_seal(executed, identity)
    assert check.intact, check
    assert check.trusted, check
    assert check.covers_whole_file, check
    reader = PdfFileReader(io.BytesIO(executed), strict=False)
    meta = reader.document_meta_view
    assert str(getattr(meta.title, "value", meta.title)) == "Purchase contract PR-000000"  # the draft's, kept
    assert isinstance(meta.last_modified, datetime)
    assert before <= meta.last_modified.astimezone(UTC) <= after
    xmp = {k: v.value for root in parse_xmp(io.BytesIO(reader.root["/Metadata"].data)) for k, v in root}
    assert before <= datetime.fromisoformat(str(xmp[model.XMP_MODDATE])).astimezone(UTC) <= after
    assert str(xmp[model.PDF_PRODUCER]).startswith("pyHanko")  # the producer added
    assert str(xmp[model.XMP_CREATORTOOL]).startswith("Typst")  # the creator tool kept
    assert str(xmp[model.XMP_CREATEDATE]).startswith("2001-02-03")  # the draft's creation date kept
    info = reader.trailer["/Info"]
    assert str(info["/ModDate"]) != str(PdfFileReader(io.BytesIO(draft), strict=False).trailer["/Info"]["/ModDate"])
