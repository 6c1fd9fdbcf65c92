"""The signature page's objects copied into the seal's incremental update as bytes, renumbered.

typst writes a plain PDF: one revision, a classic cross-reference table, every object of generation 0, no
object streams, no encryption, direct stream lengths. Such a page need not be parsed into pyHanko's objects
and serialised again (``IncrementalPdfFileWriter.import_object``: its font programs, widths arrays and
``ToUnicode`` maps parsed object by object, about 15 % of the service's CPU per flow): each object the page
reaches is copied byte for byte, its stream data untouched, with only its ``n 0 R`` references rewritten to the
numbers the update gives it. The page dictionary itself is parsed (pyHanko inserts it into the draft's page
tree) without its ``/Parent`` and ``/StructParents`` (the executed copy keeps the draft's structure tree), as
the import did.

Anything else — another cross-reference form, a second revision, encryption, an inherited attribute, a page
tree of more than one level, an object that leads back to a page, the page tree or the catalog, a malformed
object — raises ``Unsupported`` and the caller imports the pages with pyHanko as before.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from typing import Any

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

__all__ = ["Unsupported", "append_pages"]


class Unsupported(Exception):
    """The source is not the plain PDF this copy handles; import its pages with pyHanko instead."""


_WS = rb"\x00\t\n\x0c\r "
_REGULAR = rb"[^\x00\t\n\x0c\r ()<>\[\]{}/%]"
# One token of a PDF object, outside strings (whose content the scanner skips by hand): whitespace, a comment,
# a reference (two integers and R, R not followed by a regular character), dictionary and array brackets, a
# hex string, a name, or any other run of regular characters (numbers, true, false, null, keywords).
_TOKEN = re.compile(
    rb"(?P<ws>[" + _WS + rb"]+)"
    rb"|(?P<comment>%[^\r\n]*)"
    rb"|(?P<ref>(?P<num>\d+)[" + _WS + rb"]+(?P<gen>\d+)[" + _WS + rb"]+R(?!" + _REGULAR + rb"))"
    rb"|(?P<open><<|\[)"
    rb"|(?P<close>>>|\])"
    rb"|(?P<hex><[^>]*>)"
    rb"|(?P<name>/" + _REGULAR + rb"*)"
    rb"|(?P<lit>\()"
    rb"|(?P<other>" + _REGULAR + rb"+)"
)
# Two or more numbers in a row, none of them the start of a reference: inside an array (font widths, boxes,
# matrices) one token for the run instead of one per number and one per space.
_NUMBERS = re.compile(
    rb"(?:(?![0-9]+[" + _WS + rb"]+[0-9]+[" + _WS + rb"]+R(?!" + _REGULAR + rb"))"
    rb"[+\-]?[0-9.]+(?!" + _REGULAR + rb")[" + _WS + rb"]*){2,}"
)
_HEADER = re.compile(rb"[" + _WS + rb"]*(\d+)[" + _WS + rb"]+(\d+)[" + _WS + rb"]+obj")
_SKIP_WS = re.compile(rb"[" + _WS + rb"]*")
_XREF_SECTION = re.compile(rb"[" + _WS + rb"]*(\d+)[" + _WS + rb"]+(\d+)[" + _WS + rb"]*(?:\r\n|\r|\n)")
_XREF_ENTRY = re.compile(rb"(\d{10}) (\d{5}) ([nf])[" + _WS + rb"]{1,2}")


@dataclass
class _Value:
    """A scanned PDF value: its references (source position and number) and its top-level dictionary entries."""

    end: int
    simple: bytes | None = None  # the value itself when it is one token (a number, a name, a string...)
    refs: list[tuple[int, int, int]] = field(default_factory=list)
    # key -> (index of its first reference, index after its last, the value's token when simple, else None)
    entries: dict[bytes, tuple[int, int, bytes | None]] = field(default_factory=dict)

    def ref(self, key: bytes) -> int:
        first, last, token = self.entries.get(key, (0, 0, b""))
        if token is not None or last != first + 1:
            raise Unsupported(f"{key!r} is not one reference")
        return self.refs[first][2]

    def token(self, key: bytes) -> bytes | None:
        found = self.entries.get(key)
        return None if found is None else found[2]


def _skip_literal(pdf: bytes, pos: int) -> int:
    """The position after the literal string opening at ``pos`` (balanced parentheses, backslash escapes)."""
    depth = 0
    n = len(pdf)
    while pos < n:
        c = pdf[pos]
        if c == 0x5C:  # backslash: the next byte is escaped
            pos += 2
            continue
        if c == 0x28:
            depth += 1
        elif c == 0x29:
            depth -= 1
            if depth == 0:
                return pos + 1
        pos += 1
    raise Unsupported("unterminated string")


def _scan(pdf: bytes, pos: int) -> _Value:
    """The one value beginning at ``pos``, with its references and (for a dictionary) its entries."""
    value = _Value(end=pos)
    depth = 0
    is_dict = False  # the value is a dictionary: its top-level tokens alternate key and value
    key: bytes | None = None  # the current top-level key awaiting its value
    started = 0  # reference index where the current top-level value began
    while True:
        if depth > 1 or (depth == 1 and not is_dict):  # inside an array, or a value nested in the dictionary
            run = _NUMBERS.match(pdf, pos)
            if run is not None:
                pos = run.end()
                continue
        m = _TOKEN.match(pdf, pos)
        if m is None:
            raise Unsupported(f"unexpected byte at {pos}")
        kind = m.lastgroup
        if kind in ("ws", "comment"):
            pos = m.end()
            continue
        end = _skip_literal(pdf, pos) if kind == "lit" else m.end()
        token = pdf[m.start() : end]
        if depth == 0 and kind == "open":
            is_dict = token == b"<<"
        top_level_token = depth == 1 and is_dict
        if top_level_token and key is None:
            if kind == "close":
                depth -= 1
                pos = end
                break
            if kind != "name":
                raise Unsupported("a dictionary key that is not a name")
            key, started = token, len(value.refs)
            pos = end
            continue
        if kind == "ref":
            if int(m.group("gen")) != 0:
                raise Unsupported("an object of a generation other than 0")
            value.refs.append((m.start(), end, int(m.group("num"))))
        if kind == "open":
            depth += 1
        elif kind == "close":
            depth -= 1
            if depth < 0:
                raise Unsupported("unbalanced brackets")
        elif kind == "other" and token in (b"obj", b"endobj", b"stream", b"endstream", b"R"):
            raise Unsupported(f"unexpected keyword {token!r}")
        elif kind == "other" and (b"{" in token or b"}" in token):
            raise Unsupported("a PostScript brace")
        pos = end
        if key is not None and depth == 1:
            # a top-level value ended: a simple token, a reference, or a nested dictionary or array closed
            simple = top_level_token and kind not in ("open", "close", "ref")
            value.entries[key] = (started, len(value.refs), token if simple else None)
            key = None
        if depth == 0:
            if kind not in ("open", "close", "ref"):
                value.simple = token
            break
    value.end = pos
    return value


@dataclass
class _Source:
    pdf: bytes
    offsets: dict[int, int]

    def value(self, number: int) -> tuple[int, _Value]:
        """The object ``number``: where its value begins, and the value."""
        offset = self.offsets.get(number)
        if offset is None:
            raise Unsupported(f"object {number} is not in the cross-reference table")
        m = _HEADER.match(self.pdf, offset)
        if m is None or int(m.group(1)) != number or int(m.group(2)) != 0:
            raise Unsupported(f"object {number} is not where the table says")
        return m.end(), _scan(self.pdf, m.end())

    def body(self, number: int) -> tuple[int, _Value, tuple[int, int] | None]:
        """The object's value, and its stream data (start, end in the source) if it is a stream."""
        start, value = self.value(number)
        after = _SKIP_WS.match(self.pdf, value.end).end()  # type: ignore[union-attr]
        if self.pdf.startswith(b"endobj", after):
            return start, value, None
        if not self.pdf.startswith(b"stream", after):
            raise Unsupported(f"object {number} is neither a value nor a stream")
        data = after + 6
        data += 2 if self.pdf.startswith(b"\r\n", data) else 1 if self.pdf.startswith(b"\n", data) else 0
        length = value.token(b"/Length")
        if length is None:
            length = self.value(value.ref(b"/Length"))[1].simple
        if length is None or not length.isdigit():
            raise Unsupported(f"object {number}'s /Length is not an integer")
        end = data + int(length)
        close = _SKIP_WS.match(self.pdf, end).end()  # type: ignore[union-attr]
        if not self.pdf.startswith(b"endstream", close):
            raise Unsupported(f"object {number}'s stream does not end at its /Length")
        return start, value, (data, end)


def _source(pdf: bytes) -> tuple[_Source, int]:
    """The objects' offsets from the one classic cross-reference table, and the catalog's number."""
    at = pdf.rfind(b"startxref")
    if at < 0:
        raise Unsupported("no startxref")
    m = re.match(rb"startxref[" + _WS + rb"]+(\d+)", pdf[at:])
    if m is None:
        raise Unsupported("no startxref offset")
    pos = int(m.group(1))
    if not pdf.startswith(b"xref", pos):
        raise Unsupported("not a classic cross-reference table")
    pos += 4
    offsets: dict[int, int] = {}
    while (section := _XREF_SECTION.match(pdf, pos)) is not None:
        first, count = int(section.group(1)), int(section.group(2))
        pos = section.end()
        for number in range(first, first + count):
            entry = _XREF_ENTRY.match(pdf, pos)
            if entry is None:
                raise Unsupported("a malformed cross-reference entry")
            if entry.group(3) == b"n":
                if int(entry.group(2)) != 0:
                    raise Unsupported("an object of a generation other than 0")
                offsets[number] = int(entry.group(1))
            pos = entry.end()
    pos = _SKIP_WS.match(pdf, pos).end()  # type: ignore[union-attr]
    if not pdf.startswith(b"trailer", pos):
        raise Unsupported("no trailer after the cross-reference table")
    trailer = _scan(pdf, pos + 7)
    for key in (b"/Prev", b"/Encrypt", b"/XRefStm"):
        if key in trailer.entries:
            raise Unsupported(f"the trailer has {key!r}")
    return _Source(pdf, offsets), trailer.ref(b"/Root")


_LEFT_OUT = (b"/Parent", b"/StructParents")
_REQUIRED = (b"/Resources", b"/MediaBox")


class _Raw(generic.PdfObject):
    """An object written as the bytes given (its value, and its stream when it has one)."""

    def __init__(self) -> None:
        self.body = b""

    def write_to_stream(self, stream: Any, handler: Any = None, container_ref: Any = None) -> None:
        stream.write(self.body)


def _rewrite(pdf: bytes, start: int, end: int, refs: list[tuple[int, int, int]], numbers: dict[int, int]) -> bytes:
    """``pdf[start:end]`` with each reference renumbered (``null`` for one not copied)."""
    parts = []
    for ref_start, ref_end, number in refs:
        parts.append(pdf[start:ref_start])
        new = numbers.get(number)
        parts.append(b"null" if new is None else b"%d 0 R" % new)
        start = ref_end
    parts.append(pdf[start:end])
    return b"".join(parts).strip()


def append_pages(writer: IncrementalPdfFileWriter, pdf: bytes) -> int:
    """Each page of ``pdf`` after the last page of ``writer``'s document, its objects copied as bytes; the
    number of objects copied. ``Unsupported`` (nothing added to ``writer``) when ``pdf`` is not a plain PDF."""
    source, root = _source(pdf)
    _, catalog = source.value(root)
    pages_number = catalog.ref(b"/Pages")
    _, pages = source.value(pages_number)
    if pages.token(b"/Type") != b"/Pages":
        raise Unsupported("the catalog's /Pages is not a page tree")
    first, last, _ = pages.entries.get(b"/Kids", (0, 0, None))
    page_numbers = [number for _, _, number in pages.refs[first:last]]
    if not page_numbers:
        raise Unsupported("no pages")
    found = []
    for number in page_numbers:
        start, page = source.value(number)
        if page.token(b"/Type") != b"/Page":
            raise Unsupported("a page tree of more than one level")
        if any(key not in page.entries for key in _REQUIRED):
            raise Unsupported("a page that inherits an attribute")
        found.append((start, page))
    # Every object the pages reach (apart from the keys left out), found before anything is added to the writer
    forbidden = {root, pages_number, *page_numbers}
    order: list[int] = []
    bodies: dict[int, tuple[int, _Value, tuple[int, int] | None]] = {}
    todo = [
        number
        for _, page in found
        for key, (first, last, _) in page.entries.items()
        if key not in _LEFT_OUT
        for _, _, number in page.refs[first:last]
    ]
    while todo:
        number = todo.pop()
        if number in bodies:
            continue
        if number in forbidden:
            raise Unsupported("an object of the page leads back to a page, the page tree or the catalog")
        bodies[number] = source.body(number)
        order.append(number)
        todo.extend(n for _, _, n in bodies[number][1].refs)
    raws = {number: _Raw() for number in order}
    numbers = {number: writer.add_object(raw).idnum for number, raw in raws.items()}
    for number, raw in raws.items():
        start, value, stream = bodies[number]
        head = _rewrite(pdf, start, value.end, value.refs, numbers)
        raw.body = head if stream is None else b"%s\nstream\n%s\nendstream" % (head, pdf[stream[0] : stream[1]])
    for start, page in found:
        copy = generic.read_object(
            io.BytesIO(_rewrite(pdf, start, page.end, page.refs, numbers)), generic.Reference(0, 0, writer)
        )
        if not isinstance(copy, generic.DictionaryObject):
            raise Unsupported("a page that is not a dictionary")  # pragma: no cover (its entries were scanned)
        page_copy = generic.DictionaryObject({k: v for k, v in copy.items() if k.encode() not in _LEFT_OUT})  # type: ignore[no-untyped-call]
        writer.insert_page(page_copy)  # type: ignore[no-untyped-call]
    return len(order)
