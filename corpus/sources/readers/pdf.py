"""PDF files with a text layer: one document per file (scans are rejected)."""

from __future__ import annotations

from collections.abc import Iterator

from corpus.io.bounded import ReadLimits
from corpus.sources.inputs import InputRange
from corpus.sources.pdf import read_pdf_file
from corpus.sources.registry import Item, Reader, register


@register
class PdfReader(Reader):
    kind = "pdf"
    suffixes = (".pdf",)
    locator_kind = "pdf"
    description = "PDF text layer, one document per file; locator pdf:<path>"

    def read(self, rng: InputRange, limits: ReadLimits) -> Iterator[Item]:
        yield from read_pdf_file(rng.file)
