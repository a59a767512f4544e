"""e-Gov 法令データ bulk archives (XML一括ダウンロード, or ``corpus fetch`` with ``mode = "bulk"``): a ZIP
of law XML files, each read as one law by the e-Gov law XML reader.

Locators: ``lawzip:<path>#<member>`` for an archive file, ``warc:<path>#<offset>/<member>`` for the
archive inside a WARC response; the member's bytes are the law's ``raw_sha256``. Members that are
not ``.xml`` (figures, when the archive was asked for with them) are not documents and are passed
over. Bounded: each member is inflated to at most ``[limits] max_document_bytes`` (``too_large``
naming it, the other laws still read), and the whole archive to at most ``MAX_RATIO`` times its own
size (law XML compresses about tenfold), so an archive of overlapping entries cannot make a worker
inflate without end: past that budget the rest of the archive is one ``too_large``. An archive
as a file (or a WARC payload) must itself fit ``max_document_bytes``: raise it for the archive of
every law, or fetch by category.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from corpus.document import sha256_hex
from corpus.io.bounded import ReadLimits, TooLarge
from corpus.sources.readers.edinet_zip import ZIP_TYPES
from corpus.sources.readers.law_xml import LawXmlReader
from corpus.sources.registry import Reader, read_payload, register
from corpus.sources.rows import Item, Origin, too_large
from corpus.sources.zip_members import ZipMemberError, ZipPackage, first_member_name
from corpus.stage import Rejection

#: e-Gov's LawID: era-year digits, law type, number (417AC0000000086: 平成17年法律第86号).
LAW_ID = re.compile(r"\d{3}[A-Z]{2}\d{10}")
#: The most an archive may inflate to, as a multiple of its size on the wire.
MAX_RATIO = 100


def _law_members(package: ZipPackage) -> list[str]:
    return [n for n in package.names() if n.lower().endswith(".xml")]


@register
class EgovBulkZipReader(Reader):
    kind = "egov_bulk_zip"
    suffixes = (".zip",)
    locator_kind = "lawzip"
    locator_fragment = r"[^#]+"
    content_types = ZIP_TYPES
    multi_document = True
    description = "e-Gov law XML bulk archive (any ZIP that is not a filing package), one document per law XML inside; locator lawzip:<path>#<member>"

    def sniff(self, head: bytes) -> bool:
        """A ZIP whose first member is named by a LawID (``417AC0000000086_…/…xml``), as e-Gov names
        every law's folder and file, or is a folder. Deliberately narrow: an .xlsx or .docx served
        as application/octet-stream is a ZIP of XML too. A ``.zip`` file nothing claims is still
        read by this reader (the last resort for the suffix), and one without law XML is a named
        rejection (``not_law_xml``)."""
        name = first_member_name(head)
        return name is not None and (bool(LAW_ID.search(name)) or name.endswith("/"))

    def documents(self, data: bytes, origin: Origin, limits: ReadLimits) -> Iterator[Item]:
        try:
            package = ZipPackage(data, limits.max_document_bytes, max(limits.max_document_bytes, MAX_RATIO * len(data)))
        except ZipMemberError as exc:
            yield origin.reject(Rejection("zip_unreadable", detail=str(exc)[:500]), raw_sha256=sha256_hex(data))
            return
        members = _law_members(package)
        if not members:
            yield origin.reject(Rejection("not_law_xml", detail="the archive holds no .xml member"), raw_sha256=sha256_hex(data))
            return
        laws = LawXmlReader()
        for name in members:
            inner = Origin(origin.file, origin.locate(part=name), True, origin.fields)
            try:
                law = package.read(name)
            except TooLarge as exc:
                yield inner.reject(too_large(exc), tag="too_large")
                if package.exhausted:
                    return
                continue
            except ZipMemberError as exc:
                yield inner.reject(Rejection("zip_unreadable", detail=str(exc)[:500]), tag="zip_unreadable")
                continue
            yield from read_payload(laws, law, inner, limits)

    def payload_of(self, data: bytes, part: str | None) -> bytes:
        package = ZipPackage(data, ReadLimits().max_document_bytes, max(ReadLimits().max_document_bytes, MAX_RATIO * len(data)))
        if part not in _law_members(package):
            raise LookupError(f"no member {part!r} in this archive")
        return package.read(part)
