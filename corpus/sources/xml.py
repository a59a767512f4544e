"""What the XML readers (e-Gov law XML, 国会会議録 API XML) share: one safe parse, its rejections,
and the row of a document read from XML.

The parse resolves internal entities (``&amp;``-style references to an entity the document
declares itself are ordinary XML and must read as text) but never external ones (XXE: an input
must not make a worker open files or URLs), and libxml2's entity-amplification guard stops
"billion laughs" and quadratic blow-ups before they expand. Each refusal is its own rejection
reason, so a hostile file says what it tried.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from lxml import etree

from corpus.document import sha256_hex
from corpus.sources.rows import Item, Origin
from corpus.stage import Rejection

#: Large documents allowed (会社法 is 3 MB), internal entities only, no network access.
XML_PARSE_OPTIONS = {"huge_tree": True, "resolve_entities": "internal", "no_network": True}
#: Media types under which a WARC record may carry an XML payload.
XML_TYPES = ("application/xml", "text/xml")
_FIRST_TAG = re.compile(rb"<([A-Za-z_][\w.\-]*)")
_DOCTYPE = re.compile(rb"<!DOCTYPE\s+([A-Za-z_][\w.\-]*)")
_EXTERNAL = re.compile(rb"<!ENTITY\s+(?:%\s+)?([^\s%]+)\s+(?:SYSTEM|PUBLIC)\b")
_DTD_HEAD = 1 << 20


def parse_xml(data: bytes) -> Any:
    """The root element of an XML input (raises ``etree.XMLSyntaxError`` for broken or refused XML)."""
    return etree.fromstring(data, etree.XMLParser(**XML_PARSE_OPTIONS))


def xml_encoding(root: Any) -> str:
    """The encoding an XML input declared (UTF-8 when it declares none), lower-case."""
    return (root.getroottree().docinfo.encoding or "utf-8").lower()


def root_tag(head: bytes) -> str | None:
    """The root element's name from a file's first bytes (the name a DOCTYPE declares, else the
    first tag after the declaration and comments), without parsing the file: what routes ``.xml``
    files and payloads between readers, even when a long DTD fills the head."""
    text = re.sub(rb"<\?.*?\?>|<!--.*?-->", b"", head, flags=re.S)
    if m := _DOCTYPE.match(text.lstrip()):
        return m.group(1).decode("ascii", "replace")
    m = _FIRST_TAG.search(text)
    return m.group(1).decode("ascii", "replace") if m else None


def _external_entities(data: bytes) -> list[str]:
    """Names of the external entities (general or parameter, SYSTEM or PUBLIC) the document
    declares; the internal DTD subset comes before the root element, so the head is enough."""
    return [m.decode("utf-8", "replace") for m in _EXTERNAL.findall(data[:_DTD_HEAD])]


def refusal(exc: etree.XMLSyntaxError, data: bytes) -> Rejection:
    """Why an XML payload was not parsed: entity expansion, an external entity, or broken XML."""
    message = str(exc)[:500]
    if "amplification" in message or "entity loop" in message.lower():
        return Rejection("xml_entity_expansion", detail=f"entity expansion refused (billion laughs or similar): {message}")
    external = _external_entities(data)
    if external:
        return Rejection("xml_external_entity", detail=f"external entities are never loaded (XXE): {', '.join(external[:5])}; {message}")
    return Rejection("xml_parse_error", detail=message)


@dataclass(frozen=True)
class XmlPayload:
    """A parsed XML payload: its root, the encoding it declared and the sha256 of its bytes."""

    root: Any
    encoding: str
    sha256: str

    def row(self, origin: Origin, locator: str, text: str, raw_sha256: str | None = None, **extra: Any) -> dict[str, Any]:
        """A document row read from this payload (the whole payload's hash unless the document
        is one part of it, with its own bytes)."""
        return origin.text_row(
            locator, text, raw_sha256 or self.sha256, self.encoding, f"xml-declaration:{self.encoding}",
            "application/xml", **extra,
        )

    def reject(self, origin: Origin, why: Rejection) -> Item:
        return origin.reject(why, raw_sha256=self.sha256)


def parse_payload(data: bytes, origin: Origin) -> XmlPayload | Item:
    """The parsed payload, or the rejection item saying why it cannot be read."""
    digest = sha256_hex(data)
    try:
        root = parse_xml(data)
    except etree.XMLSyntaxError as exc:
        return origin.reject(refusal(exc, data), raw_sha256=digest)
    if root is None:
        return origin.reject(Rejection("xml_parse_error", detail="no root element"), raw_sha256=digest)
    return XmlPayload(root, xml_encoding(root), digest)
