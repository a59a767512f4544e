"""Outlinks of a fetched HTML page, decoded with the pipeline's own charset evidence chain.

Shift_JIS and EUC-JP pages are common on older government sites; link text does not matter here
but URLs with %-encoded Japanese do, so the page is decoded the same way extraction decodes it.
The body given here has its Content-Encoding already undone, boundedly (corpus.sources.crawl.decode).
"""

from __future__ import annotations

import lxml.html

from corpus.extract.charset import DecodeError, decode_bytes
from corpus.sources.crawl.urls import canonicalize

LINK_ATTRS = (("a", "href"), ("area", "href"), ("frame", "src"), ("iframe", "src"))


def extract_links(body: bytes, http_charset: str | None, page_url: str) -> list[str]:
    """Canonical http(s) outlinks in document order, without duplicates; [] for undecodable pages."""
    try:
        text = decode_bytes(body, http_charset).text
        doc = lxml.html.document_fromstring(text)
    except (DecodeError, ValueError, lxml.etree.ParserError):
        return []
    base = page_url
    for el in doc.iter("base"):
        if el.get("href"):
            base = canonicalize(el.get("href"), page_url) or page_url
            break
    seen: dict[str, None] = {}
    for el in doc.iter(*(t for t, _ in LINK_ATTRS)):
        attr = dict(LINK_ATTRS)[el.tag]
        href = el.get(attr)
        if not href or el.get("rel", "").lower() == "nofollow":
            continue
        url = canonicalize(href, base)
        if url is not None:
            seen.setdefault(url, None)
    return list(seen)
