"""HTML pages: one document per file, raw bytes kept for the extract stage to decode and extract.

Decoding waits for the extract stage on purpose: it decides the charset with recorded evidence
(BOM, HTTP header, <meta>, detection among CP932/EUC-JP/ISO-2022-JP), the same way for a file on
disk as for a page inside a WARC.
"""

from __future__ import annotations

from collections.abc import Iterator

from corpus.document import sha256_hex
from corpus.io.bounded import ReadLimits
from corpus.sources.registry import Reader, register
from corpus.sources.rows import Item, Origin


@register
class HtmlReader(Reader):
    kind = "html"
    suffixes = (".html", ".htm", ".xhtml")
    locator_kind = "file"
    description = "HTML pages, one document per file; locator file:<path>"
    media_type = "text/html"

    def documents(self, data: bytes, origin: Origin, limits: ReadLimits) -> Iterator[Item]:
        yield origin.row(origin.locate(), sha256_hex(data), url=None, content_type=self.media_type, raw=data)
