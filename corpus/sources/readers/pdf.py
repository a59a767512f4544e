"""PDF files with a text layer: one document per file (locator ``pdf:<path>``), scans rejected.

The extraction itself lives in corpus.extract.pdf, shared with the extract stage, which handles
PDFs that arrive inside WARCs from a crawl (there, with the stage's timeout around it).
"""

from __future__ import annotations

from collections.abc import Iterator

from corpus.document import sha256_hex
from corpus.extract.pdf import EVIDENCE, extract_pdf
from corpus.io.bounded import ReadLimits
from corpus.sources.registry import Reader, register
from corpus.sources.rows import Item, Origin
from corpus.stage import Rejection


@register
class PdfReader(Reader):
    kind = "pdf"
    suffixes = (".pdf",)
    locator_kind = "pdf"
    description = "PDF text layer, one document per file; locator pdf:<path>"

    def documents(self, data: bytes, origin: Origin, limits: ReadLimits) -> Iterator[Item]:
        """One document per PDF, the text of all pages in order."""
        digest = sha256_hex(data)
        result = extract_pdf(data, limits.max_document_bytes)
        if isinstance(result, Rejection):
            yield origin.reject(result, raw_sha256=digest)
            return
        yield origin.text_row(origin.locate(), result.text, digest, None, EVIDENCE, "application/pdf", title=result.title)
