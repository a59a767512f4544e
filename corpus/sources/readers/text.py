"""Plain-text files: raw bytes, decoded by the extract stage with the same charset evidence as HTML."""

from __future__ import annotations

from collections.abc import Iterator

from corpus.io.bounded import ReadLimits
from corpus.sources.html_files import read_text_file
from corpus.sources.inputs import InputRange
from corpus.sources.registry import Item, Reader, register


@register
class TextReader(Reader):
    kind = "text"
    suffixes = (".txt",)
    locator_kind = "file"
    description = "plain text, one document per file; locator file:<path>"

    def read(self, rng: InputRange, limits: ReadLimits) -> Iterator[Item]:
        yield from read_text_file(rng.file)
