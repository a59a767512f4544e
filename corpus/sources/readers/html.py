"""HTML files: raw bytes, decoded and extracted by the extract stage (charset evidence, trafilatura)."""

from __future__ import annotations

from collections.abc import Iterator

from corpus.io.bounded import ReadLimits
from corpus.sources.html_files import read_html_file
from corpus.sources.inputs import InputRange
from corpus.sources.registry import Item, Reader, register


@register
class HtmlReader(Reader):
    kind = "html"
    suffixes = (".html", ".htm", ".xhtml")
    locator_kind = "file"
    description = "HTML pages, one document per file; locator file:<path>"

    def read(self, rng: InputRange, limits: ReadLimits) -> Iterator[Item]:
        yield from read_html_file(rng.file)
