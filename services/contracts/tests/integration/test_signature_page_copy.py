"""The signature page copied into the seal's update as bytes (``documents.pagecopy``) against pyHanko's import of
it (``sealing.import_pages``, the path before): the same page, object for object, and a seal that holds.
typst and pyHanko for real, a development CA in a temporary directory."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.writer import copy_into_new_writer
from pypdf import PdfReader

from backoffice_contracts import service
from backoffice_contracts.documents import pagecopy, pdf, sealing
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


def page_data(language: str, *, user_agent: str = "portal/1.0") -> dict[str, Any]:
    sha = "cd" * 32
    signature = {"role": "procurement", "channel": "api", "signed_at": "2026-11-30T07:00:00+00:00"}
    signature |= {"client_ip": "127.0.0.1", "user_agent": user_agent, "document_sha256": sha}
    return {
        "language": language,
        "contract_id": "c-7",
        "number": "PR-000007",
        "document_sha256": sha,
        "signatures": [
            # names with parentheses, backslashes and "n 0 R" in them: text the copy must not touch
            signature
            | {"party_label": "Buyer", "signer_name": "Paula (12 0 R) Pröcurement \\", "signer_email": "p@b.t"},
            signature | {"party_label": "Vendor", "signer_name": "Vera ) Vendor €", "signer_email": "v@v.t"},
        ],
    }


def plain(obj: Any, seen: frozenset[int] = frozenset()) -> Any:
    """A PDF object resolved into Python values, streams decoded, a page's /Parent left out."""
    if isinstance(obj, generic.IndirectObject):
        if obj.idnum in seen:
            return ("cycle",)
        return plain(obj.get_object(), seen | {obj.idnum})
    if isinstance(obj, generic.StreamObject):
        entries = {k: plain(v, seen) for k, v in obj.items() if k not in ("/Length", "/Parent")}
        return ("stream", entries, obj.data)
    if isinstance(obj, generic.DictionaryObject):
        return {k: plain(v, seen) for k, v in obj.items() if k != "/Parent"}
    if isinstance(obj, generic.ArrayObject):
        return [plain(v, seen) for v in obj]
    return obj


def last_page(document: bytes) -> Any:
    reader = PdfFileReader(io.BytesIO(document), strict=False)
    count = int(reader.root["/Pages"]["/Count"])
    ref, _ = reader.find_page_for_modification(count - 1)  # type: ignore[no-untyped-call]
    return plain(ref.get_object())


def seal_imported(draft: bytes, identity: SealingIdentity, page: bytes) -> bytes:
    """The seal as before this copy: the page imported by pyHanko."""
    writer = IncrementalPdfFileWriter(io.BytesIO(draft), strict=False)
    sealing.import_pages(writer, PdfFileReader(io.BytesIO(page), strict=False))
    out = io.BytesIO()
    writer.write(out)
    return sealing.seal(out.getvalue(), identity, reason="r", location="l")


@pytest.mark.parametrize("language", ["en", "de"])
def test_the_copied_signature_page_is_the_imported_one_object_for_object_under_a_seal_that_holds(
    identity: SealingIdentity, language: str
) -> None:
    draft = pdf.render(pdf.default_template(language), service.sample_data(language))
    page = pdf.render_signature_page(page_data(language, user_agent="Mozilla/5.0 (X11; 3 0 R) [x] <y> /z %c"))
    writer = IncrementalPdfFileWriter(io.BytesIO(draft), strict=False)

    copied = pagecopy.append_pages(writer, page)  # typst's page is one pagecopy handles

    assert copied > 10  # the fonts, their programs and maps, the content stream, the colour space
    copy = sealing.seal(draft, identity, reason="r", location="l", append=page)
    imported = seal_imported(draft, identity, page)
    assert copy.startswith(draft)
    assert last_page(copy) == last_page(imported)
    assert [p.extract_text() for p in PdfReader(io.BytesIO(copy), strict=True).pages] == [
        p.extract_text() for p in PdfReader(io.BytesIO(imported), strict=True).pages
    ]
    assert "Paula (12 0 R) Pröcurement" in PdfReader(io.BytesIO(copy)).pages[-1].extract_text()
    check = sealing.check_seal(copy, identity)
    assert check.intact
    assert check.trusted
    assert check.covers_whole_file
    assert len(copy) < len(imported) + 4096  # nothing beyond the page's own objects is copied


def test_a_byte_changed_in_a_copied_object_breaks_the_seal(identity: SealingIdentity) -> None:
    draft = pdf.render(pdf.default_template("en"), service.sample_data("en"))
    executed = sealing.seal(
        draft, identity, reason="r", location="l", append=pdf.render_signature_page(page_data("en"))
    )
    at = executed.index(b"/FontDescriptor", len(draft))
    changed = executed[:at] + b"/FontDescriptoR" + executed[at + 15 :]

    assert not sealing.check_seal(changed, identity).intact


def test_what_the_copy_does_not_handle_goes_through_pyhankos_import_as_before(identity: SealingIdentity) -> None:
    draft = pdf.render(pdf.default_template("en"), service.sample_data("en"))
    page = pdf.render_signature_page(page_data("en"))
    # The same page with an xref stream and object streams (what typst does not write): pyHanko rewrites it
    reader = PdfFileReader(io.BytesIO(page), strict=False)
    rewritten = io.BytesIO()
    copy_into_new_writer(reader, writer_kwargs={"stream_xrefs": True}).write(rewritten)
    other = rewritten.getvalue()
    writer = IncrementalPdfFileWriter(io.BytesIO(draft), strict=False)
    with pytest.raises(pagecopy.Unsupported):
        pagecopy.append_pages(writer, other)
    assert not writer.objects  # nothing was added before the refusal

    executed = sealing.seal(draft, identity, reason="r", location="l", append=other)

    assert last_page(executed) == last_page(seal_imported(draft, identity, page))
    check = sealing.check_seal(executed, identity)
    assert check.intact
    assert check.trusted
    assert check.covers_whole_file


def leading_back(page: bytes) -> bytes:
    """A font's ``/ToUnicode`` pointed at the page itself, every offset kept (the same number of digits)."""
    page_number = re.search(rb"/Kids\[(\d+) 0 R\]", page).group(1)  # type: ignore[union-attr]
    to_unicode = re.search(rb"/ToUnicode (\d+) 0 R", page)
    assert to_unicode is not None
    assert len(to_unicode.group(1)) == len(page_number)
    return page[: to_unicode.start(1)] + page_number + page[to_unicode.end(1) :]


def shorter_stream(page: bytes) -> bytes:
    """The first stream's /Length one less (the same number of digits, every offset kept)."""
    length = re.search(rb"/Length (\d+)", page)
    assert length is not None
    assert len(str(int(length.group(1)) - 1)) == len(length.group(1))
    return page[: length.start(1)] + str(int(length.group(1)) - 1).encode() + page[length.end(1) :]


@pytest.mark.parametrize(
    "alter",
    [
        leading_back,
        lambda page: page.replace(b"trailer\n<<", b"trailer\n<</Prev 0", 1),  # a second revision
        lambda page: page.replace(b"trailer\n<<", b"trailer\n<</Encrypt 3 0 R", 1),  # encryption
        shorter_stream,
    ],
)
def test_a_page_that_is_not_plain_is_refused_before_anything_is_added(alter: Callable[[bytes], bytes]) -> None:
    page = pdf.render_signature_page(page_data("en"))
    altered = alter(page)
    assert altered != page
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf.render(pdf.default_template("en"), service.sample_data("en"))))

    with pytest.raises(pagecopy.Unsupported):
        pagecopy.append_pages(writer, altered)
    assert not writer.objects


@pytest.mark.parametrize(
    ("source", "refs"),
    [
        (b"[1 2 0 R 3 4.5 -6 7 0 R]", [2, 7]),  # a run of numbers stops before a reference
        (b"[0 0 595.28 841.89]", []),
        (b"<< /W [1 [500 600] 3 4 5 0 R] /Length 12 0 R >>", [5, 12]),
        (b"[1 2/N 3 4<ab>5 6(x 7 0 R)8 0 R]", [8]),  # numbers ended by a delimiter; a string's text is no reference
        (b"[10 0 R 11 0 R 12 0 R]", [10, 11, 12]),
    ],
)
def test_the_scanner_finds_every_reference_among_runs_of_numbers(source: bytes, refs: list[int]) -> None:
    value = pagecopy._scan(source + b" endobj", 0)
    assert [number for _, _, number in value.refs] == refs
    assert value.end == len(source)
    for start, end, number in value.refs:
        assert source[start:end].split()[0] == b"%d" % number
