"""EDINET filing packages: the ZIP that EDINET API v2 returns for a filing (書類取得API, ``type=1``).

One document per section of the filing (corpus.sources.xbrl): the narrative of each outermost
XBRL TextBlock of the inline-XBRL HTML (事業等のリスク, 経営者による財政状態…の分析, コーポレート・
ガバナンスの概要, ...), and one document per table in it, one row per line; TextBlock facts of the
XBRL instance where the HTML does not have them. Every row carries the filing: ``filing_id`` (the
docID, from the API URL or a file named after it), ``filer_code`` (EDINET code), ``security_code``,
``doc_type`` (the cover page's 提出書類), ``period`` and ``section``.

Locators: ``edinet:<path>#<filing>/<section>`` for a ZIP file, ``warc:<path>#<offset>/<filing>/<section>``
inside a WARC response as ``corpus fetch`` stores it (EDINET sends application/octet-stream, so the
payload is recognised by its first member, ``XBRL/…``); a table adds ``/table<N>``. ``<filing>`` is
the docID, or the filing's file-name stem when no docID is known.

Bounded: the members read (PublicDoc's .htm and .xbrl) are inflated in steps and counted, never
trusting the sizes in the ZIP headers; a member past ``[limits] max_document_bytes``, or a package
whose members together pass it, is a ``too_large`` rejection naming the member, and the sections of
the members read before it are kept. A member that cannot be inflated is ``zip_unreadable``, one
that does not parse is the XML reasons of corpus.sources.xml, a ZIP without a filing's PublicDoc is
``not_edinet_package``, and a package without sections ``edinet_no_sections``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from lxml import etree

from corpus.document import sha256_hex
from corpus.io.bounded import ReadLimits, TooLarge
from corpus.sources import xbrl
from corpus.sources.registry import Reader, register
from corpus.sources.rows import Item, Origin, too_large
from corpus.sources.xml import parse_xml, refusal, xml_encoding
from corpus.sources.zip_members import ZipMemberError, ZipPackage, first_member_name
from corpus.stage import Rejection

ZIP_TYPES = ("application/octet-stream", "application/zip", "application/x-zip-compressed")
DOC_ID = re.compile(r"^(S[0-9A-Z]{7})(?:[._-]|$)")
PUBLIC_DOC = re.compile(r"(?:^|/)PublicDoc/[^/]+$")
HTML_SUFFIXES = (".htm", ".html", ".xhtml")
NO_FILING = "-"


def doc_id(origin: Origin) -> str | None:
    """The docID: the last path segment of the API URL (``/documents/S100X991?type=1``) inside a
    WARC, or the file name (``S100X991.zip``)."""
    where = (origin.fields.get("url") or "") if origin.nested else origin.file.path
    last = where.split("?", 1)[0].rstrip("/").rpartition("/")[2]
    m = DOC_ID.match(last)
    return m.group(1) if m else None


@dataclass
class Filing:
    """What a package held: its sections, the filing's facts, and the members that failed."""

    facts: xbrl.FilingFacts
    sections: list[xbrl.Section] = field(default_factory=list)
    problems: list[tuple[str, Rejection]] = field(default_factory=list)  # (member, why)
    encoding: str = "utf-8"
    is_package: bool = True  # it has a PublicDoc folder or an XBRL instance


def _members(package: ZipPackage) -> tuple[list[str], str | None]:
    """(inline-XBRL HTML members in name order, the XBRL instance) of the package's PublicDoc
    (of the whole ZIP when it has no PublicDoc folder)."""
    names = package.names()
    public = [n for n in names if PUBLIC_DOC.search(n)] or names
    html = sorted(n for n in public if n.lower().endswith(HTML_SUFFIXES))
    instance = sorted(n for n in public if n.lower().endswith(".xbrl"))
    return html, (instance[0] if instance else None)


def _parse(package: ZipPackage, name: str, problems: list[tuple[str, Rejection]]) -> Any | None:
    """A member parsed as XML, or None with the reason recorded (over the limit, unreadable, broken)."""
    try:
        data = package.read(name)
    except TooLarge as exc:
        problems.append((name, too_large(exc)))
        return None
    except ZipMemberError as exc:
        problems.append((name, Rejection("zip_unreadable", detail=str(exc)[:500])))
        return None
    try:
        return parse_xml(data)
    except etree.XMLSyntaxError as exc:
        why = refusal(exc, data)
        problems.append((name, Rejection(why.reason, detail=f"{name}: {why.detail}"[:500])))
        return None


def read_filing(data: bytes, limits: ReadLimits) -> Filing:
    """Every section of a filing package (raises ZipMemberError when it is no readable ZIP)."""
    package = ZipPackage(data, limits.max_document_bytes)
    html_names, instance_name = _members(package)
    problems: list[tuple[str, Rejection]] = []
    roots = []
    for n in html_names:
        if (root := _parse(package, n, problems)) is not None:
            roots.append(root)
        if package.exhausted:
            break  # one too_large for the package, not one per member left
    instance = _parse(package, instance_name, problems) if instance_name and not package.exhausted else None
    sections, covered = xbrl.html_sections(roots)
    if instance is not None:
        sections += xbrl.instance_sections(instance, covered)
    xbrl.assign_keys(sections)
    facts = xbrl.instance_facts(instance) if instance is not None else {}
    for k, v in xbrl.ixbrl_facts(roots).items():
        facts.setdefault(k, v)
    stem = xbrl.filing_stem(html_names + ([instance_name] if instance_name else []))
    first = roots[0] if roots else instance
    encoding = xml_encoding(first) if first is not None else "utf-8"
    names = package.names()
    is_package = any(PUBLIC_DOC.search(n) for n in names) or instance_name is not None
    return Filing(xbrl.FilingFacts(facts, stem), sections, problems, encoding, is_package)


@lru_cache(maxsize=2)
def _sections_of(data: bytes) -> tuple[xbrl.Section, ...]:
    """The sections of a package, remembered for the last packages: ``corpus inspect`` and audits
    reopen many sections of one filing, and each would parse the whole package again."""
    return tuple(read_filing(data, ReadLimits()).sections)


@register
class EdinetZipReader(Reader):
    kind = "edinet_zip"
    suffixes = (".zip",)
    priority = 1  # asked before the e-Gov bulk archive reader: recognised by its XBRL/ members
    locator_kind = "edinet"
    locator_fragment = r"[^#/]+/[^#/]+(/table[0-9]+)?"
    content_types = ZIP_TYPES
    multi_document = True
    description = ("EDINET filing package (ZIP, API v2 type=1): one document per XBRL TextBlock section and per table; "
                   "locator edinet:<path>#<docID>/<section>[/table<N>]")

    def sniff(self, head: bytes) -> bool:
        name = first_member_name(head)
        return name is not None and ("XBRL/" in name or "PublicDoc/" in name or name.lower().endswith(".xbrl"))

    def documents(self, data: bytes, origin: Origin, limits: ReadLimits) -> Iterator[Item]:
        digest = sha256_hex(data)
        try:
            filing = read_filing(data, limits)
        except ZipMemberError as exc:
            yield origin.reject(Rejection("zip_unreadable", detail=str(exc)[:500]), raw_sha256=digest)
            return
        name = doc_id(origin) or filing.facts.stem or NO_FILING
        for member, why in filing.problems:
            yield origin.reject(why, locator=origin.locate(part=f"{name}/{member.rpartition('/')[2]}"), tag=f"{why.reason}:{member}")
        if not filing.sections:
            if not filing.problems:
                why = (Rejection("edinet_no_sections", detail="no XBRL TextBlock in the package's HTML or instance") if filing.is_package
                       else Rejection("not_edinet_package", detail="no PublicDoc/ members and no .xbrl instance"))
                yield origin.reject(why, raw_sha256=digest)
            return
        yield from self._rows(filing, name, doc_id(origin), origin)

    def _rows(self, filing: Filing, name: str, docid: str | None, origin: Origin) -> Iterator[Item]:
        f = filing.facts
        columns = {
            "filing_id": docid, "filer_code": f.get("EDINETCodeDEI"), "security_code": f.get("SecurityCodeDEI"),
            "doc_type": f.get("DocumentTitleCoverPage"), "period": f.period, "source_fields": f.source_fields(),
        }
        filer = f.get("FilerNameInJapaneseDEI") or ""
        label = " ".join(p for p in (filer, columns["doc_type"] or "") if p)
        evidence = f"xml-declaration:{filing.encoding}"
        for s in filing.sections:
            title = f"{label} {s.rendered.heading}".strip()
            text = s.narrative()
            if text:
                yield origin.text_row(origin.locate(part=f"{name}/{s.key}"), text, sha256_hex(s.payload()), filing.encoding,
                                      evidence, "application/xhtml+xml", title=title, section=s.key, **columns)
            for n, (caption, table) in enumerate(s.tables(), 1):
                yield origin.text_row(origin.locate(part=f"{name}/{s.key}/table{n}"), table.text(caption), sha256_hex(table.payload()),
                                      filing.encoding, evidence, "application/xhtml+xml", title=f"{title} 表{n}", section=s.key, **columns)

    def payload_of(self, data: bytes, part: str | None) -> bytes:
        _, _, rest = (part or "").partition("/")
        key, _, table = rest.partition("/")
        for s in _sections_of(data):
            if s.key == key:
                if not table:
                    return s.payload()
                n = int(table.removeprefix("table"))
                tables = s.tables()
                if 1 <= n <= len(tables):
                    return tables[n - 1][1].payload()
                raise LookupError(f"section {key!r} has {len(tables)} table(s), not {n}")
        raise LookupError(f"no section {key!r} in this filing package")
